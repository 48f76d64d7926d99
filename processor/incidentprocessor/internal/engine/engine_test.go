package engine

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/expr"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/rules"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// newEngine validates yamlRules and compiles their where as the processor
// does.
func newEngine(t *testing.T, yamlRules string) *Engine {
	t.Helper()
	parsed, err := rules.Parse([]byte(yamlRules))
	require.NoError(t, err)
	return engineOf(t, parsed, 1000)
}

func engineOf(t *testing.T, parsed []rules.Rule, maxTracked int) *Engine {
	t.Helper()
	set := componenttest.NewNopTelemetrySettings()
	var err error
	var rs []*Rule
	for i := range parsed {
		r := parsed[i]
		require.NoError(t, r.Validate(nil))
		er := &Rule{Rule: &r}
		if r.IsLogRule() {
			er.LogWhere, err = expr.NewLog(r.Where, set)
		} else {
			er.DPWhere, err = expr.NewDataPoint(r.Where, set)
		}
		require.NoError(t, err)
		rs = append(rs, er)
	}
	e, err := New(rs, maxTracked, time.Minute)
	require.NoError(t, err)
	return e
}

type proc struct {
	pid     int64
	exe     string
	limit   int64 // the cgroup memory limit, 0 for none
	created string
}

func (p proc) created0() string {
	if p.created != "" {
		return p.created
	}
	return "2026-11-26T11:00:00Z"
}

// metric builds one resource with one gauge point per value (attributes by
// cpu.mode when two values are given).
func metric(p proc, name string, ts time.Time, values ...float64) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	a := rm.Resource().Attributes()
	a.PutInt("process.pid", p.pid)
	a.PutStr("process.executable.name", p.exe)
	a.PutStr("process.creation.time", p.created0())
	a.PutStr("host.name", "h1")
	if p.limit != 0 {
		a.PutInt(contract.CgroupMemoryLimit, p.limit)
	}
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName(name)
	g := m.SetEmptyGauge()
	for i, v := range values {
		dp := g.DataPoints().AppendEmpty()
		dp.SetTimestamp(pcommon.NewTimestampFromTime(ts))
		dp.SetDoubleValue(v)
		if len(values) > 1 {
			dp.Attributes().PutStr("cpu.mode", []string{"user", "system"}[i])
		}
	}
	return md
}

// hostMetrics builds the host memory metrics as the receiver emits them: on
// a resource with host.name only, the total as a Sum, available as a Gauge.
func hostMetrics(host string, ts time.Time, total, avail float64) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr(contract.HostName, host)
	ms := rm.ScopeMetrics().AppendEmpty().Metrics()
	m := ms.AppendEmpty()
	m.SetName(contract.MetricMemoryLimit)
	dp := m.SetEmptySum().DataPoints().AppendEmpty()
	dp.SetTimestamp(pcommon.NewTimestampFromTime(ts))
	dp.SetIntValue(int64(total))
	m = ms.AppendEmpty()
	m.SetName(contract.MetricMemoryAvailable)
	dp = m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetTimestamp(pcommon.NewTimestampFromTime(ts))
	dp.SetIntValue(int64(avail))
	return md
}

type lifecycle struct {
	event    string
	pid      int64
	ppid     int64
	exe      string
	lifetime float64
}

func logs(ts time.Time, recs ...lifecycle) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("host.name", "h1")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	for _, r := range recs {
		lr := lrs.AppendEmpty()
		lr.SetEventName("linnix.process." + r.event)
		lr.SetTimestamp(pcommon.NewTimestampFromTime(ts))
		a := lr.Attributes()
		a.PutInt("process.pid", r.pid)
		a.PutInt("process.parent_pid", r.ppid)
		a.PutStr("process.executable.name", r.exe)
		a.PutStr("process.creation.time", "2026-11-26T11:00:00Z")
		if r.event == "exit" {
			a.PutDouble("linnix.process.lifetime", r.lifetime)
		}
	}
	return ld
}

func forks(n int, ppid int64, exe string) []lifecycle {
	out := make([]lifecycle, n)
	for i := range out {
		out[i] = lifecycle{event: "fork", pid: int64(10000 + i), ppid: ppid, exe: exe}
	}
	return out
}

func TestStaleSeriesResolvesOnce(t *testing.T) {
	e := newEngine(t, cpuSpin)
	ctx := context.Background()
	p := proc{pid: 9, exe: "x"}
	for s := 0; s <= 30; s += 10 {
		ts := t0.Add(time.Duration(s) * time.Second)
		e.ObserveMetrics(ctx, metric(p, "linnix.process.cpu.cores", ts, 1), ts)
	}
	require.Len(t, e.Evaluate(t0.Add(30*time.Second)), 1)
	// No sample for longer than stale_after (1m): resolved; forgotten once
	// three times that has passed.
	res := e.Evaluate(t0.Add(2 * time.Minute))
	require.Len(t, res, 1)
	assert.Equal(t, Resolved, res[0].State)
	assert.Empty(t, e.Evaluate(t0.Add(3*time.Minute)))
	assert.Equal(t, 1, e.Stats().Tracked)
	assert.Empty(t, e.Evaluate(t0.Add(4*time.Minute)))
	assert.Zero(t, e.Stats().Tracked)
}

func TestExitResolvesAndDropsProcessState(t *testing.T) {
	e := newEngine(t, cpuSpin+`
  - name: forks
    kind: rate
    event: fork
    window: 10s
    min_count: 1000
    summary: "x"
`)
	ctx := context.Background()
	p := proc{pid: 9, exe: "x", created: "2026-11-26T11:00:00Z"}
	for s := 0; s <= 30; s += 10 {
		ts := t0.Add(time.Duration(s) * time.Second)
		e.ObserveMetrics(ctx, metric(p, "linnix.process.cpu.cores", ts, 1), ts)
	}
	require.Len(t, e.Evaluate(t0.Add(30*time.Second)), 1)
	e.ObserveLogs(ctx, logs(t0.Add(31*time.Second), lifecycle{event: "exit", pid: 9, exe: "x", lifetime: 60}), t0.Add(31*time.Second))
	res := e.Evaluate(t0.Add(32 * time.Second))
	require.Len(t, res, 1)
	assert.Equal(t, Resolved, res[0].State)
	assert.Empty(t, e.Evaluate(t0.Add(33*time.Second)))
	assert.Zero(t, e.Stats().Tracked)
}

func TestMetricRulesGroupedByContainerSumItsProcesses(t *testing.T) {
	e := newEngine(t, `
rules:
  - name: container_cpu
    kind: threshold
    metric: linnix.process.cpu.cores
    value: 1.5
    group_by: container.id
    summary: "container {{.Container}} at {{.Value}} cores"
`)
	ctx := context.Background()
	md := pmetric.NewMetrics()
	for pid, ctr := range map[int64]string{1: "c1", 2: "c1", 3: "c2"} {
		one := metric(proc{pid: pid, exe: "x"}, "linnix.process.cpu.cores", t0, 0.8)
		one.ResourceMetrics().At(0).Resource().Attributes().PutStr("container.id", ctr)
		one.ResourceMetrics().MoveAndAppendTo(md.ResourceMetrics())
	}
	e.ObserveMetrics(ctx, md, t0)
	incs := e.Evaluate(t0)
	require.Len(t, incs, 1, "c1's two processes sum to 1.6 cores; c2 alone is 0.8")
	assert.Equal(t, "container c1 at 1.6 cores", incs[0].Summary)
}

func TestThreadRecordsAreNotProcesses(t *testing.T) {
	e := newEngine(t, forkStorm)
	ctx := context.Background()
	ld := logs(t0, forks(5000, 1, "java")...)
	lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := 0; i < lrs.Len(); i++ {
		lrs.At(i).Attributes().PutInt("thread.id", int64(20000+i))
	}
	e.ObserveLogs(ctx, ld, t0)
	assert.Empty(t, e.Evaluate(t0), "5,000 new threads are not a fork storm")
}

// TestHostsDoNotAddUp: a gateway hears many hosts; the same parent pid on
// two of them is two parents.
func TestHostsDoNotAddUp(t *testing.T) {
	e := newEngine(t, `
rules:
  - {name: runaway, kind: rate, event: fork, window: 1m, min_count: 5, group_by: parent, summary: x}
`)
	ctx := context.Background()
	for _, host := range []string{"h1", "h2"} {
		ld := logs(t0, forks(3, 100, "sh")...)
		ld.ResourceLogs().At(0).Resource().Attributes().PutStr(contract.HostName, host)
		e.ObserveLogs(ctx, ld, t0)
	}
	assert.Empty(t, e.Evaluate(t0.Add(time.Second)), "3 forks under pid 100 on each of two hosts")
	ld := logs(t0, forks(2, 100, "sh")...)
	e.ObserveLogs(ctx, ld, t0)
	incs := e.Evaluate(t0.Add(time.Second))
	require.Len(t, incs, 1, "5 forks under pid 100 on h1")
	assert.Equal(t, "h1", incs[0].Subject.Host)
}

// TestTwoCollectionsInOneBatchCountOnce: a relay may merge two collections
// of a process into one batch; the newest value counts, not their sum.
func TestTwoCollectionsInOneBatchCountOnce(t *testing.T) {
	e := newEngine(t, `
rules:
  - {name: big, kind: threshold, metric: process.memory.usage, op: ">=", value: 150, summary: x}
`)
	p := proc{pid: 42, exe: "app"}
	md := metric(p, "process.memory.usage", t0, 100)
	metric(p, "process.memory.usage", t0.Add(10*time.Second), 120).ResourceMetrics().MoveAndAppendTo(md.ResourceMetrics())
	e.ObserveMetrics(context.Background(), md, t0.Add(10*time.Second))
	assert.Empty(t, e.Evaluate(t0.Add(10*time.Second)), "100 then 120 is 120, not 220")

	md = metric(p, "process.memory.usage", t0.Add(20*time.Second), 160)
	e.ObserveMetrics(context.Background(), md, t0.Add(20*time.Second))
	require.Len(t, e.Evaluate(t0.Add(20*time.Second)), 1)
}

// TestAMinuteApartSourceKeepsItsState: the hostmetrics scraper collects once
// a minute by default, as long as stale_after, and a scrape can land late;
// evaluations between two
// collections must not forget the series.
func TestAMinuteApartSourceKeepsItsState(t *testing.T) {
	e := newEngine(t, `
rules:
  - {name: big, kind: threshold, metric: process.memory.usage, op: ">=", value: 100, for: 2m, summary: x}
`)
	p := proc{pid: 42, exe: "app"}
	var fired []Incident
	for s := 0; s <= 200; s++ {
		now := t0.Add(time.Duration(s) * time.Second)
		if s%75 == 0 { // longer than stale_after (1m)
			e.ObserveMetrics(context.Background(), metric(p, "process.memory.usage", now, 150), now)
		}
		fired = append(fired, e.Evaluate(now)...)
	}
	require.Len(t, fired, 1, "one firing after 2m of 150 >= 100, no resolve in between")
	assert.Equal(t, rules.StateFiring, fired[0].State)
}
