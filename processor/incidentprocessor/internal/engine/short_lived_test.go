package engine

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestShortLivedCountsOnlyShortExits(t *testing.T) {
	e := newEngine(t, `
rules:
  - name: short_job_flood
    kind: short_lived
    max_lifetime: 1s
    window: 1m
    min_count: 3
    summary: "{{num .Count}} runs of {{.Exe}}"
`)
	ctx := context.Background()
	e.ObserveLogs(ctx, logs(t0,
		lifecycle{event: "exit", pid: 1, exe: "curl", lifetime: 0.2},
		lifecycle{event: "exit", pid: 2, exe: "curl", lifetime: 0.999},
		lifecycle{event: "exit", pid: 3, exe: "curl", lifetime: 1.0}, // not short
		lifecycle{event: "exit", pid: 4, exe: "grep", lifetime: 0.1}, // other executable
	), t0)
	require.Empty(t, e.Evaluate(t0))
	e.ObserveLogs(ctx, logs(t0, lifecycle{event: "exit", pid: 5, exe: "curl", lifetime: 0.5}), t0)
	incs := e.Evaluate(t0)
	require.Len(t, incs, 1)
	assert.Equal(t, "3 runs of curl", incs[0].Summary)
}
