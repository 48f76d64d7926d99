package engine

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/rules"
)

const forkStorm = `
rules:
  - name: fork_storm
    kind: rate
    event: fork
    window: 5s
    min_rate: 1000
    group_by: host
    cooldown: 10m
    summary: "{{num .Count}} forks in {{dur .Window}} on {{.Host}} ({{num .Rate}}/s)"
  - name: runaway_tree
    kind: rate
    event: fork
    window: 1m
    min_count: 100
    group_by: parent
    summary: "{{.Exe}} pid {{.PID}} forked {{num .Count}} children"
`

func TestRateFiresAtTheBoundaryAndResolvesOnce(t *testing.T) {
	e := newEngine(t, forkStorm)
	ctx := context.Background()
	// 4999 forks in the window: below 1000/s over 5s.
	e.ObserveLogs(ctx, logs(t0, forks(4999, 1, "init")[:4999]...), t0)
	var storm []Incident
	for _, inc := range e.Evaluate(t0.Add(time.Second)) {
		if inc.Rule == "fork_storm" {
			storm = append(storm, inc)
		}
	}
	require.Empty(t, storm)
	e.ObserveLogs(ctx, logs(t0.Add(time.Second), lifecycle{event: "fork", pid: 5, ppid: 1, exe: "init"}), t0.Add(time.Second))
	storm = nil
	for _, inc := range e.Evaluate(t0.Add(time.Second)) {
		if inc.Rule == "fork_storm" {
			storm = append(storm, inc)
		}
	}
	require.Len(t, storm, 1)
	assert.Equal(t, "5000 forks in 5s on h1 (1000/s)", storm[0].Summary)
	assert.Equal(t, int64(5000), storm[0].Evidence["count"])

	// The window slides past the burst: one resolve, then silence.
	var states []rules.State
	for s := 2; s <= 20; s++ {
		for _, inc := range e.Evaluate(t0.Add(time.Duration(s) * time.Second)) {
			if inc.Rule == "fork_storm" {
				states = append(states, inc.State)
			}
		}
	}
	assert.Equal(t, []rules.State{Resolved}, states)
}

func TestRateGroupsByParent(t *testing.T) {
	e := newEngine(t, forkStorm)
	ctx := context.Background()
	recs := append(forks(100, 42, "make"), forks(99, 43, "bash")...)
	e.ObserveLogs(ctx, logs(t0, recs...), t0)
	var tree []Incident
	for _, inc := range e.Evaluate(t0) {
		if inc.Rule == "runaway_tree" {
			tree = append(tree, inc)
		}
	}
	require.Len(t, tree, 1)
	assert.Equal(t, int64(42), tree[0].Subject.PID)
	assert.Equal(t, "make pid 42 forked 100 children", tree[0].Summary)
}
