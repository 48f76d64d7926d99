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

// Grouped by parent, a hot exec loop (one parent, the same tiny program)
// fires; a build's compiler runs under one parent, doing real work, do not.
func TestShortLivedByParentNeedsTinyRuns(t *testing.T) {
	e := newEngine(t, `
rules:
  - name: short_job_flood
    kind: short_lived
    max_lifetime: 1s
    max_mean_lifetime: 50ms
    window: 10s
    min_rate: 10
    group_by: parent
    summary: "pid {{.PPID}} ran {{.Exe}} {{num .Count}} times ({{printf \"%.2f\" .Cores}} cores)"
`)
	ctx := context.Background()
	var recs []lifecycle
	for i := 0; i < 150; i++ {
		recs = append(recs, lifecycle{event: "exit", pid: int64(i), ppid: 42, exe: "compile", lifetime: 0.3})
		recs = append(recs, lifecycle{event: "exit", pid: int64(1000 + i), ppid: int64(500 + i), exe: "as", lifetime: 0.005})
	}
	e.ObserveLogs(ctx, logs(t0, recs...), t0)
	require.Empty(t, e.Evaluate(t0))
	recs = nil
	for i := 0; i < 100; i++ {
		recs = append(recs, lifecycle{event: "exit", pid: int64(2000 + i), ppid: 77, exe: "true", lifetime: 0.002})
	}
	e.ObserveLogs(ctx, logs(t0, recs...), t0)
	incs := e.Evaluate(t0)
	require.Len(t, incs, 1)
	assert.Equal(t, "pid 77 ran true 100 times (0.02 cores)", incs[0].Summary)
	assert.InDelta(t, 0.002, incs[0].Evidence["mean_lifetime_seconds"], 1e-9)
}
