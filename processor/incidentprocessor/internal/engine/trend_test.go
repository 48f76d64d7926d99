package engine

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/rules"
)

const memoryLeak = `
rules:
  - name: memory_leak
    kind: trend
    metric: process.memory.usage
    window: 10m
    min_slope_per_minute: 10485760
    min_r2: 0.8
    min_growth: 104857600
    summary: "{{.Exe}} pid {{.PID}} grew {{bytes .Growth}} in {{dur .Window}} (+{{bytes .Slope}}/min){{if .ETA}}, OOM in ~{{dur .ETA}}{{end}}"
`

func TestTrendFindsALinearLeakAndProjectsTheLimit(t *testing.T) {
	e := newEngine(t, memoryLeak)
	ctx := context.Background()
	node := proc{pid: 8821, exe: "node", limit: 5 << 30}
	var fired []Incident
	for s := 0; s <= 600; s += 10 {
		ts := t0.Add(time.Duration(s) * time.Second)
		rss := float64(1<<30) + float64(s)*(205<<20)/60 // +205 MiB/min
		e.ObserveMetrics(ctx, hostMetrics("h1", ts, 64<<30, 32<<30), ts)
		e.ObserveMetrics(ctx, metric(node, "process.memory.usage", ts, rss), ts)
		fired = append(fired, e.Evaluate(ts)...)
	}
	require.Len(t, fired, 1, "fires once the window is covered")
	inc := fired[0]
	// Fires once the samples span the window (within one interval).
	assert.Equal(t, "node pid 8821 grew 2.0 GiB in 9m50s (+205 MiB/min), OOM in ~10m", inc.Summary)
	assert.InDelta(t, 1.0, inc.Evidence["r2"], 1e-6)
	assert.InDelta(t, 5<<30, inc.Evidence["limit_bytes"], 1)
}

func TestTrendIgnoresNoiseAndFlatSeries(t *testing.T) {
	e := newEngine(t, memoryLeak)
	ctx := context.Background()
	flat, noisy := proc{pid: 1, exe: "flat"}, proc{pid: 2, exe: "noisy"}
	for s := 0; s <= 900; s += 10 {
		ts := t0.Add(time.Duration(s) * time.Second)
		e.ObserveMetrics(ctx, metric(flat, "process.memory.usage", ts, 1<<30), ts)
		// Big swings, little trend: r² far below 0.8.
		swing := float64(int64(s/10%2)*2-1) * float64(800<<20)
		e.ObserveMetrics(ctx, metric(noisy, "process.memory.usage", ts, float64(2<<30)+swing+float64(s)*(11<<20)/60), ts)
		require.Empty(t, e.Evaluate(ts), "at %ds", s)
	}
}

func TestFitTrend(t *testing.T) {
	var s []sample
	for i := 0; i < 10; i++ {
		s = append(s, sample{t: t0.Add(time.Duration(i) * time.Minute), v: 100 + 60*float64(i)})
	}
	fit, ok := fitTrend(s)
	require.True(t, ok)
	assert.InDelta(t, 1.0, fit.slope, 1e-9) // 60 per minute
	assert.InDelta(t, 1.0, fit.r2, 1e-9)
	assert.InDelta(t, 540, fit.growth, 1e-6)
	_, ok = fitTrend(s[:2])
	assert.False(t, ok, "two samples are not a trend")
}

func TestDefaultMemoryLeakOnHostmetricsProcessMemory(t *testing.T) {
	e := engineOf(t, []rules.Rule{defaultRule(t, "memory_leak")}, 1000)
	ctx := context.Background()
	var fired []Incident
	for s := 0; s <= 600; s += 10 {
		ts := t0.Add(time.Duration(s) * time.Second)
		// The hostmetrics process scraper's shape: a non-monotonic Sum, a
		// resource with process.pid and process.executable.name but no
		// process.creation.time.
		md := pmetric.NewMetrics()
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutInt(contract.ProcessPID, 8821)
		rm.Resource().Attributes().PutStr(contract.ProcessExecutableName, "node")
		m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName(contract.MetricMemoryUsage)
		dp := m.SetEmptySum().DataPoints().AppendEmpty()
		dp.SetTimestamp(pcommon.NewTimestampFromTime(ts))
		dp.SetIntValue(1<<30 + int64(s)*(205<<20)/60)
		e.ObserveMetrics(ctx, md, ts)
		fired = append(fired, e.Evaluate(ts)...)
	}
	require.Len(t, fired, 1)
	assert.Equal(t, "node", fired[0].Subject.Exe)
	assert.Contains(t, fired[0].Summary, "node pid 8821 grew 2.0 GiB")
	assert.NotContains(t, fired[0].Summary, "OOM", "no limit known: no projection")
}

func TestTrendProjectsTheHostsAvailableMemoryWhileFresh(t *testing.T) {
	e := newEngine(t, memoryLeak)
	ctx := context.Background()
	node := proc{pid: 8821, exe: "node"}
	var fired []Incident
	for s := 0; s <= 600; s += 10 {
		ts := t0.Add(time.Duration(s) * time.Second)
		if s == 0 || s == 590 {
			// stale_after is 1m: sent once at the start, the host's memory
			// would be stale by the time the leak fires.
			e.ObserveMetrics(ctx, hostMetrics("h1", ts, 64<<30, 2<<30), ts)
		}
		e.ObserveMetrics(ctx, metric(node, "process.memory.usage", ts, float64(1<<30)+float64(s)*(205<<20)/60), ts)
		fired = append(fired, e.Evaluate(ts)...)
	}
	require.Len(t, fired, 1)
	assert.Contains(t, fired[0].Summary, "OOM in ~9m59s", "2 GiB available at 205 MiB/min")
	assert.InDelta(t, 64<<30, fired[0].Evidence["limit_bytes"], 1)

	other := newEngine(t, memoryLeak)
	other.ObserveMetrics(ctx, hostMetrics("h1", t0, 64<<30, 2<<30), t0)
	for s := 0; s <= 600; s += 10 {
		ts := t0.Add(time.Duration(s) * time.Second)
		other.ObserveMetrics(ctx, metric(node, "process.memory.usage", ts, float64(1<<30)+float64(s)*(205<<20)/60), ts)
		for _, inc := range other.Evaluate(ts) {
			assert.NotContains(t, inc.Summary, "OOM", "the host's memory is 10m old")
		}
	}
}
