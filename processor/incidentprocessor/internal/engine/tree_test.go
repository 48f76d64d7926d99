package engine

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const treeRule = `
rules:
  - name: runaway_tree
    kind: tree
    window: 30s
    min_live: 100
    min_live_growth: 50
    summary: "{{.Exe}} pid {{.PID}} has {{num .Count}} live descendants (+{{num .Growth}} in {{dur .Window}})"
`

func exits(from, n int) []lifecycle {
	out := make([]lifecycle, n)
	for i := range out {
		out[i] = lifecycle{event: "exit", pid: int64(from + i), lifetime: 0.1}
	}
	return out
}

// A build forks thousands of children that finish: never a live tree.
func TestTreeIgnoresChildrenThatFinish(t *testing.T) {
	e := newEngine(t, treeRule)
	ctx := context.Background()
	for s := 0; s < 60; s++ {
		now := t0.Add(time.Duration(s) * time.Second)
		recs := make([]lifecycle, 0, 200)
		for i := 0; i < 50; i++ {
			pid := int64(10000 + s*50 + i)
			recs = append(recs, lifecycle{event: "fork", pid: pid, ppid: 42, exe: "go"})
		}
		e.ObserveLogs(ctx, logs(now, recs...), now)
		// All but the last 5 exit within the second, and those the next.
		e.ObserveLogs(ctx, logs(now, exits(10000+s*50, 45)...), now)
		if s > 0 {
			e.ObserveLogs(ctx, logs(now, exits(10000+s*50-5, 5)...), now)
		}
		require.Empty(t, e.Evaluate(now), "second %d", s)
	}
}

// Descendants of descendants count for the root, even once their own
// parents have exited (a fork bomb's shells exit at once); a plateau at a
// pids limit keeps it firing; it resolves when they are gone.
func TestTreeFiresOnLiveGrowthAndHoldsOnThePlateau(t *testing.T) {
	e := newEngine(t, treeRule)
	ctx := context.Background()
	// Generation 1: pid 42 forks 10; each of those forks 20 and exits.
	var recs []lifecycle
	for i := 0; i < 10; i++ {
		recs = append(recs, lifecycle{event: "fork", pid: int64(1000 + i), ppid: 42, exe: "bash"})
	}
	e.ObserveLogs(ctx, logs(t0, recs...), t0)
	require.Empty(t, e.Evaluate(t0))
	recs = nil
	for i := 0; i < 10; i++ {
		for j := 0; j < 20; j++ {
			recs = append(recs, lifecycle{event: "fork", pid: int64(2000 + i*20 + j), ppid: int64(1000 + i), exe: "bash"})
		}
	}
	now := t0.Add(2 * time.Second)
	e.ObserveLogs(ctx, logs(now, append(recs, exits(1000, 10)...)...), now)
	incs := e.Evaluate(now)
	require.Len(t, incs, 1)
	assert.Equal(t, int64(42), incs[0].Subject.PID)
	assert.Equal(t, "bash pid 42 has 200 live descendants (+200 in 30s)", incs[0].Summary)
	assert.Equal(t, 200, incs[0].Evidence["live_descendants"])

	// The plateau: nothing changes for two minutes; no resolve.
	for s := 3; s < 120; s++ {
		require.Empty(t, e.Evaluate(t0.Add(time.Duration(s)*time.Second)), "second %d", s)
	}
	// Churn down to 60 (above half of min_live): still firing, no repeat
	// before the cooldown.
	now = t0.Add(121 * time.Second)
	e.ObserveLogs(ctx, logs(now, exits(2000, 140)...), now)
	require.Empty(t, e.Evaluate(now))
	// Killed: the live count falls under half of min_live, one resolve.
	now = t0.Add(122 * time.Second)
	e.ObserveLogs(ctx, logs(now, exits(2140, 20)...), now)
	incs = e.Evaluate(now)
	require.Len(t, incs, 1)
	assert.Equal(t, Resolved, incs[0].State)
}

// A slow climb past min_live that grows less than min_live_growth within
// the window (services started over minutes) does not fire.
func TestTreeNeedsGrowthWithinTheWindow(t *testing.T) {
	e := newEngine(t, treeRule)
	ctx := context.Background()
	for s := 0; s < 300; s++ {
		now := t0.Add(time.Duration(s) * time.Second)
		if s%2 == 0 { // one long-lived child every 2 s: +15 per 30 s
			e.ObserveLogs(ctx, logs(now, lifecycle{event: "fork", pid: int64(5000 + s), ppid: 7, exe: "supervisord"}), now)
		}
		require.Empty(t, e.Evaluate(now), "second %d", s)
	}
}

// Children of init start no tree; state stays bounded by exits.
func TestTreeIgnoresInitAndForgetsEmptyTrees(t *testing.T) {
	e := newEngine(t, treeRule)
	ctx := context.Background()
	e.ObserveLogs(ctx, logs(t0, forks(300, 1, "systemd")...), t0)
	require.Empty(t, e.Evaluate(t0))
	e.ObserveLogs(ctx, logs(t0, forks(10, 42, "sh")...), t0)
	e.ObserveLogs(ctx, logs(t0, exits(10000, 10)...), t0)
	e.Evaluate(t0.Add(time.Minute))
	assert.Equal(t, 0, e.Stats().Tracked)
}

// A quiet tree whose state was dropped (no record for stale_after) does not
// read as grown from nothing when its next child comes.
func TestTreeQuietPlateauIsNotGrowth(t *testing.T) {
	e := newEngine(t, treeRule)
	ctx := context.Background()
	for i := 0; i < 4; i++ { // 160 workers started over 4 minutes
		now := t0.Add(time.Duration(i) * time.Minute)
		var recs []lifecycle
		for j := 0; j < 40; j++ {
			recs = append(recs, lifecycle{event: "fork", pid: int64(3000 + i*40 + j), ppid: 9, exe: "apache2"})
		}
		e.ObserveLogs(ctx, logs(now, recs...), now)
		for s := 0; s < 60; s++ {
			require.Empty(t, e.Evaluate(now.Add(time.Duration(s)*time.Second)))
		}
	}
	for s := 240; s < 300; s++ {
		require.Empty(t, e.Evaluate(t0.Add(time.Duration(s)*time.Second)))
	}
	now := t0.Add(5 * time.Minute)
	e.ObserveLogs(ctx, logs(now, lifecycle{event: "fork", pid: 4000, ppid: 9, exe: "apache2"}), now)
	require.Empty(t, e.Evaluate(now))
}
