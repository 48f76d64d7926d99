package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/rules"
)

const cpuSpin = `
rules:
  - name: cpu_spin
    kind: threshold
    metric: linnix.process.cpu.cores
    op: ">="
    value: 0.95
    for: 30s
    cooldown: 2m
    summary: "{{.Exe}} pid {{.PID}} sustained {{pct .Value}} CPU for {{dur .For}}"
    actions: ["top -p {{.PID}}"]
`

func TestThresholdFiresAtTheBoundaryAfterFor(t *testing.T) {
	e := newEngine(t, cpuSpin)
	java := proc{pid: 4412, exe: "java"}
	ctx := context.Background()
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

	// Just below the boundary never fires.
	for s := 0; s <= 60; s += 10 {
		e.ObserveMetrics(ctx, metric(java, "linnix.process.cpu.cores", at(s), 0.9499), at(s))
		require.Empty(t, e.Evaluate(at(s)))
	}
	// At the boundary: not before `for` has elapsed, then exactly once.
	for s := 70; s < 100; s += 10 {
		e.ObserveMetrics(ctx, metric(java, "linnix.process.cpu.cores", at(s), 0.95), at(s))
		require.Empty(t, e.Evaluate(at(s)), "fired %ds into a 30s for", s-70)
	}
	e.ObserveMetrics(ctx, metric(java, "linnix.process.cpu.cores", at(100), 0.97), at(100))
	incs := e.Evaluate(at(100))
	require.Len(t, incs, 1)
	inc := incs[0]
	assert.Equal(t, Firing, inc.State)
	assert.Equal(t, "java pid 4412 sustained 97% CPU for 30s", inc.Summary)
	assert.Equal(t, []string{"top -p 4412"}, inc.Actions)
	assert.Equal(t, int64(4412), inc.Subject.PID)
	assert.InDelta(t, 0.97, inc.Evidence["linnix.process.cpu.cores"], 1e-9)
	assert.InDelta(t, 30.0, inc.Evidence["held_seconds"], 1e-9)
	assert.Greater(t, inc.Confidence, 0.7)

	// Still true: silent until the cooldown, then one repeat with the same id.
	for s := 110; s < 220; s += 10 {
		e.ObserveMetrics(ctx, metric(java, "linnix.process.cpu.cores", at(s), 1.0), at(s))
		require.Empty(t, e.Evaluate(at(s)), "repeat before cooldown at %ds", s)
	}
	e.ObserveMetrics(ctx, metric(java, "linnix.process.cpu.cores", at(220), 1.0), at(220))
	rep := e.Evaluate(at(220))
	require.Len(t, rep, 1)
	assert.True(t, rep[0].Repeat)
	assert.Equal(t, inc.ID, rep[0].ID)

	// Clears: one resolve with the same id, then nothing.
	e.ObserveMetrics(ctx, metric(java, "linnix.process.cpu.cores", at(230), 0.2), at(230))
	res := e.Evaluate(at(230))
	require.Len(t, res, 1)
	assert.Equal(t, Resolved, res[0].State)
	assert.Equal(t, inc.ID, res[0].ID)
	assert.True(t, strings.HasPrefix(res[0].Summary, "resolved: "))
	e.ObserveMetrics(ctx, metric(java, "linnix.process.cpu.cores", at(240), 0.2), at(240))
	assert.Empty(t, e.Evaluate(at(240)))
}

func TestThresholdGroupsByProcess(t *testing.T) {
	e := newEngine(t, cpuSpin)
	ctx := context.Background()
	a, b := proc{pid: 1, exe: "a"}, proc{pid: 2, exe: "b"}
	for s := 0; s <= 30; s += 10 {
		ts := t0.Add(time.Duration(s) * time.Second)
		e.ObserveMetrics(ctx, metric(a, "linnix.process.cpu.cores", ts, 1), ts)
		// b alternates: its condition never holds for 30s.
		e.ObserveMetrics(ctx, metric(b, "linnix.process.cpu.cores", ts, float64(s/10%2)), ts)
	}
	incs := e.Evaluate(t0.Add(30 * time.Second))
	require.Len(t, incs, 1)
	assert.Equal(t, int64(1), incs[0].Subject.PID)
}

func TestThresholdSumsSelectedPointsAndHonoursWhere(t *testing.T) {
	e := newEngine(t, `
rules:
  - name: util
    kind: threshold
    metric: process.cpu.utilization
    value: 0.5
    summary: "{{.PID}}"
`)
	ctx := context.Background()
	// user 0.3 + system 0.3 = 0.6 ≥ 0.5
	e.ObserveMetrics(ctx, metric(proc{pid: 7, exe: "x"}, "process.cpu.utilization", t0, 0.3, 0.3), t0)
	require.Len(t, e.Evaluate(t0), 1)
}

// cpuTime builds cumulative process.cpu.time points (CPU seconds) of one
// process, one per attribute value, as a monotonic cumulative Sum: the
// ebpfprocess receiver's shape with attr cpu.mode (user, system), the
// hostmetrics process scraper's with attr state (user, system, wait) and no
// process.creation.time.
func cpuTime(p proc, ts time.Time, attr string, seconds map[string]float64) pmetric.Metrics {
	md := metric(p, contract.MetricCPUTime, ts)
	rm := md.ResourceMetrics().At(0)
	if attr == "state" {
		rm.Resource().Attributes().Remove(contract.ProcessCreationTime)
	}
	sum := rm.ScopeMetrics().At(0).Metrics().At(0).SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	for mode, v := range seconds {
		dp := sum.DataPoints().AppendEmpty()
		dp.SetTimestamp(pcommon.NewTimestampFromTime(ts))
		dp.SetDoubleValue(v)
		dp.Attributes().PutStr(attr, mode)
	}
	return md
}

// defaultRule returns the built-in rule of that name.
func defaultRule(t *testing.T, name string) rules.Rule {
	t.Helper()
	for _, r := range rules.Defaults() {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no built-in rule %s", name)
	return rules.Rule{}
}

func TestDefaultCPUSpinReadsCumulativeCPUTimeFromEitherSource(t *testing.T) {
	for _, tc := range []struct {
		source string
		attr   string
		// CPU seconds per second of each mode.
		busy, idle map[string]float64
	}{
		{"ebpfprocess", "cpu.mode", map[string]float64{"user": 0.8, "system": 0.17}, map[string]float64{"user": 0.3, "system": 0.1}},
		// wait is not CPU use: 2 s/s of it must not make the idle process spin.
		{"hostmetrics", "state", map[string]float64{"user": 0.9, "system": 0.07, "wait": 0}, map[string]float64{"user": 0.3, "system": 0.1, "wait": 2}},
	} {
		t.Run(tc.source, func(t *testing.T) {
			e := engineOf(t, []rules.Rule{defaultRule(t, "cpu_spin")}, 1000)
			ctx := context.Background()
			busy, idle := proc{pid: 10, exe: "busy"}, proc{pid: 11, exe: "idle"}
			var fired []Incident
			for s := 0; s <= 200; s += 10 {
				ts := t0.Add(time.Duration(s) * time.Second)
				at := func(rates map[string]float64) map[string]float64 {
					out := map[string]float64{}
					for mode, r := range rates {
						out[mode] = 1000 + r*float64(s) // cumulative since long before
					}
					return out
				}
				e.ObserveMetrics(ctx, cpuTime(busy, ts, tc.attr, at(tc.busy)), ts)
				e.ObserveMetrics(ctx, cpuTime(idle, ts, tc.attr, at(tc.idle)), ts)
				fired = append(fired, e.Evaluate(ts)...)
			}
			require.Len(t, fired, 1, "the busy process, once, after 3m at 0.97 cores")
			assert.Equal(t, "busy", fired[0].Subject.Exe)
			assert.Equal(t, t0.Add(190*time.Second), fired[0].At, "primed at 0s, first rate at 10s, held 3m at 190s")
			assert.Equal(t, "busy pid 10 sustained 97% CPU for 3m", fired[0].Summary)
			assert.InDelta(t, 0.97, fired[0].Evidence[contract.MetricCPUTime], 1e-9)
		})
	}
}

func TestPerSecondSkipsACounterReset(t *testing.T) {
	e := newEngine(t, `
rules:
  - name: spin
    kind: threshold
    metric: process.cpu.time
    per_second: true
    value: 0.95
    summary: "{{.PID}}"
`)
	ctx := context.Background()
	p := proc{pid: 12, exe: "x"}
	// 0.1 s/s, then the counter restarts from 0 (a restarted scraper or
	// pid reuse), then 0.1 s/s again: never a spike, never a negative rate.
	for s, v := range []float64{500, 501, 502, 0, 1, 2, 3} {
		ts := t0.Add(time.Duration(s*10) * time.Second)
		e.ObserveMetrics(ctx, cpuTime(p, ts, "cpu.mode", map[string]float64{"user": v}), ts)
		require.Empty(t, e.Evaluate(ts), "at %ds", s*10)
	}
	// The next real spike still fires.
	ts := t0.Add(70 * time.Second)
	e.ObserveMetrics(ctx, cpuTime(p, ts, "cpu.mode", map[string]float64{"user": 13}), ts)
	require.Len(t, e.Evaluate(ts), 1)
}

func TestCounterRate(t *testing.T) {
	var c counter
	_, ok := c.rate(t0, 10)
	assert.False(t, ok, "the first value only primes")
	v, ok := c.rate(t0.Add(2*time.Second), 13)
	assert.True(t, ok)
	assert.InDelta(t, 1.5, v, 1e-9)
	_, ok = c.rate(t0.Add(2*time.Second), 20)
	assert.False(t, ok, "no time elapsed")
	_, ok = c.rate(t0.Add(4*time.Second), 1)
	assert.False(t, ok, "a decrease is a reset")
	v, ok = c.rate(t0.Add(5*time.Second), 2)
	assert.True(t, ok)
	assert.InDelta(t, 1.0, v, 1e-9)
}
