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
	var storm []Incident
	for _, inc := range append(e.ObserveLogs(ctx, logs(t0, forks(4999, 1, "init")[:4999]...), t0), e.Evaluate(t0.Add(time.Second))...) {
		if inc.Rule == "fork_storm" {
			storm = append(storm, inc)
		}
	}
	require.Empty(t, storm)
	// The 5000th fork fires as it arrives, not at the next evaluation.
	fired := e.ObserveLogs(ctx, logs(t0.Add(time.Second), lifecycle{event: "fork", pid: 5, ppid: 1, exe: "init"}), t0.Add(time.Second))
	storm = nil
	for _, inc := range append(fired, e.Evaluate(t0.Add(time.Second))...) {
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

// simulate feeds forks at perSecond from onset for d, in batches of 10 ms
// (as the receiver delivers them), with the processor's clock at each
// batch's time, and evaluates on the whole seconds up to until, as the
// evaluation loop does. It returns every incident of rule, in order.
func simulate(t *testing.T, e *Engine, rule string, onset time.Time, perSecond float64, d time.Duration, until time.Time) []Incident {
	t.Helper()
	ctx := context.Background()
	const step = 10 * time.Millisecond
	var out []Incident
	keep := func(incs []Incident) {
		for _, inc := range incs {
			if inc.Rule == rule {
				out = append(out, inc)
			}
		}
	}
	nextEval := onset.Truncate(time.Second).Add(time.Second)
	sent, pid := 0.0, int64(10000)
	for ts := onset; !ts.After(until); ts = ts.Add(step) {
		for !nextEval.After(ts) {
			keep(e.Evaluate(nextEval))
			nextEval = nextEval.Add(time.Second)
		}
		if ts.Sub(onset) >= d {
			continue
		}
		var recs []lifecycle
		for target := perSecond * (ts.Sub(onset) + step).Seconds(); sent < target; sent++ {
			pid++
			recs = append(recs, lifecycle{event: "fork", pid: pid, ppid: 1, exe: "bash"})
		}
		keep(e.ObserveLogs(ctx, logs(ts, recs...), ts))
	}
	return out
}

const fastStorm = `
rules:
  - name: fork_storm
    kind: rate
    event: fork
    window: 5s
    min_rate: 1000
    group_by: host
    summary: "{{num .FireRate}} forks/s on {{.Host}}: {{num .Count}} processes forked in the last {{dur .Window}}"
`

// A storm of 1500 forks/s is reported as soon as its first second holds
// 1000 forks on half its tenths (~0.67 s), not when 5000 fill the window
// (3.3 s), and not at the next evaluation but as the records arrive.
func TestRateFireWindowReportsAStormWithinASecond(t *testing.T) {
	e := newEngine(t, fastStorm)
	onset := t0.Add(300 * time.Millisecond)
	got := simulate(t, e, "fork_storm", onset, 1500, 10*time.Second, onset.Add(10*time.Second))
	require.NotEmpty(t, got)
	fire := got[0]
	require.Equal(t, Firing, fire.State)
	latency := fire.At.Sub(onset)
	assert.LessOrEqual(t, latency, time.Second, "onset → incident")
	assert.GreaterOrEqual(t, latency, 600*time.Millisecond, "1000 forks at 1500/s take 0.67 s")
	assert.GreaterOrEqual(t, fire.Evidence["fire_window_count"], int64(1000))
	assert.InDelta(t, 1500, fire.Evidence["fire_window_rate_per_second"], 100)
	assert.Equal(t, 1.0, fire.Evidence["fire_window_seconds"])
	assert.Equal(t, fire.Evidence["count"], fire.Evidence["fire_window_count"], "the long window holds the storm so far")
	assert.Regexp(t, `^1[45]\d\d forks/s on h1: 1\d\d\d processes forked in the last 5s$`, fire.Summary)
	// It stays one incident while the storm lasts.
	for _, inc := range got[1:] {
		assert.Equal(t, Resolved, inc.State, "%s at %v", inc.Summary, inc.At.Sub(onset))
	}
	t.Logf("onset → incident: %v (%s)", latency, fire.Summary)
}

// A 2 s burst at 500/s stays under the rate; 1200 forks within 100 ms
// exceed it over a second but fill one tenth of it: neither is a storm.
func TestRateFireWindowIgnoresSlowAndShortBursts(t *testing.T) {
	e := newEngine(t, fastStorm)
	onset := t0.Add(300 * time.Millisecond)
	assert.Empty(t, simulate(t, e, "fork_storm", onset, 500, 2*time.Second, onset.Add(8*time.Second)))

	e = newEngine(t, fastStorm)
	assert.Empty(t, simulate(t, e, "fork_storm", onset, 12000, 100*time.Millisecond, onset.Add(8*time.Second)))
}

// The fire window only hastens the firing: the incident resolves when the
// 5 s window drops below 5000 forks, as it did before, not as soon as the
// last second falls under 1000.
func TestRateFireWindowKeepsTheResolve(t *testing.T) {
	e := newEngine(t, fastStorm)
	onset := t0.Add(300 * time.Millisecond)
	got := simulate(t, e, "fork_storm", onset, 1500, 6*time.Second, onset.Add(20*time.Second))
	require.Len(t, got, 2)
	assert.Equal(t, Firing, got[0].State)
	assert.Equal(t, Resolved, got[1].State)
	assert.Equal(t, got[0].ID, got[1].ID)
	// The storm ends at 6.3 s; (t−5 s, t] holds 1500 × (11.3 − t) forks,
	// under 5000 from t > 7.97 s: the evaluation at 8 s resolves it.
	assert.Equal(t, t0.Add(8*time.Second), got[1].At)
}

// A rate rule with min_count only (no min_rate) has no fire window: it
// fires at the evaluation once the window holds min_count.
func TestRateWithoutMinRateHasNoFireWindow(t *testing.T) {
	e := newEngine(t, `
rules:
  - name: slow
    kind: rate
    event: fork
    window: 5s
    min_count: 1000
    summary: "{{num .Count}}"
`)
	onset := t0.Add(300 * time.Millisecond)
	got := simulate(t, e, "slow", onset, 1500, 3*time.Second, onset.Add(3*time.Second))
	require.NotEmpty(t, got)
	assert.Equal(t, t0.Add(time.Second), got[0].At, "at the first evaluation, not as records arrive")
	assert.NotContains(t, got[0].Evidence, "fire_window_count")
}
