package engine

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The receiver reports a process that exited between two collections once
// more, at the next collection, after its exit record: that final sample is
// judged but keeps no state, while a process of the same pid and another
// creation time (pid reuse) is tracked as usual.
func TestFinalSampleAfterExitKeepsNoState(t *testing.T) {
	e := newEngine(t, cpuSpin)
	ctx := context.Background()
	e.ObserveLogs(ctx, logs(t0, lifecycle{event: "exit", pid: 9, exe: "x", lifetime: 3}), t0)
	final := t0.Add(5 * time.Second)
	e.ObserveMetrics(ctx, metric(proc{pid: 9, exe: "x"}, "linnix.process.cpu.cores", final, 1), final)
	reused := proc{pid: 9, exe: "x", created: "2026-11-26T11:59:00Z"}
	e.ObserveMetrics(ctx, metric(reused, "linnix.process.cpu.cores", final, 0.1), final)
	require.Equal(t, 2, e.Stats().Tracked)
	assert.Empty(t, e.Evaluate(final.Add(time.Second)))
	assert.Equal(t, 1, e.Stats().Tracked, "the exited process's state is gone, the live one's stays")
}

// Without the exit seen, the same final sample is kept like any series: the
// test above fails for the reason it names.
func TestSampleWithoutExitKeepsState(t *testing.T) {
	e := newEngine(t, cpuSpin)
	ctx := context.Background()
	e.ObserveMetrics(ctx, metric(proc{pid: 9, exe: "x"}, "linnix.process.cpu.cores", t0, 1), t0)
	assert.Empty(t, e.Evaluate(t0.Add(time.Second)))
	assert.Equal(t, 1, e.Stats().Tracked)
}

// Exits are remembered for stale_after at most and up to a bound, and the
// storage a storm grew is let go once most of them are gone.
func TestRecentExitsAreBounded(t *testing.T) {
	r := newRecentExits(3)
	for i := range 5 {
		r.add(fmt.Sprint(i), t0, time.Minute)
	}
	assert.False(t, r.has("0"))
	assert.False(t, r.has("1"))
	assert.True(t, r.has("2"))
	assert.True(t, r.has("4"))
	assert.Len(t, r.order, 3)

	r.prune(t0.Add(time.Minute), time.Minute)
	assert.True(t, r.has("4"), "kept for stale_after")
	r.prune(t0.Add(time.Minute+time.Nanosecond), time.Minute)
	assert.False(t, r.has("4"))

	var none *recentExits
	assert.False(t, none.has("4"))
	none.prune(t0, time.Minute)
}

func TestRecentExitsShrinkAfterAStorm(t *testing.T) {
	r := newRecentExits(maxRecentExits)
	for i := range 10_000 {
		r.add(fmt.Sprint(i), t0, time.Minute)
	}
	// A few exits later: the storm's are past stale_after.
	later := t0.Add(2 * time.Minute)
	r.add("late", later, time.Minute)
	assert.True(t, r.has("late"))
	assert.Len(t, r.at, 1)
	assert.Equal(t, 1, cap(r.order), "moved to storage of its size")
	assert.Equal(t, 1, r.room)

	r.prune(later.Add(2*time.Minute), time.Minute)
	assert.Empty(t, r.at)
	assert.Len(t, r.order, 0)
}

// An engine whose rules keep no per-process metric state remembers no exit.
func TestNoProcessRuleRemembersNoExit(t *testing.T) {
	e := newEngine(t, `
rules:
  - name: forks
    kind: rate
    event: fork
    window: 10s
    min_count: 1000
    summary: "x"
`)
	e.ObserveLogs(context.Background(), logs(t0, lifecycle{event: "exit", pid: 9, exe: "x", lifetime: 3}), t0)
	assert.Nil(t, e.exits)
}
