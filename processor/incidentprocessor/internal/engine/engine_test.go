package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/rules"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

type fakeMem struct {
	total, avail float64
	limits       map[string]float64
}

func (f *fakeMem) Host() (float64, float64, bool) { return f.total, f.avail, f.total > 0 }
func (f *fakeMem) CgroupLimit(line string) (float64, bool) {
	v, ok := f.limits[line]
	return v, ok
}

func newEngine(t *testing.T, mem *fakeMem, yamlRules string) *Engine {
	t.Helper()
	parsed, err := rules.Parse([]byte(yamlRules))
	require.NoError(t, err)
	var rs []*Rule
	for i := range parsed {
		r := parsed[i]
		require.NoError(t, r.Validate(nil))
		rs = append(rs, &Rule{Rule: &r})
	}
	if mem == nil {
		mem = &fakeMem{}
	}
	return New(rs, mem, 1000, time.Minute)
}

type proc struct {
	pid     int64
	exe     string
	cgroup  string
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
	if p.cgroup != "" {
		a.PutStr("process.linux.cgroup", p.cgroup)
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
	e := newEngine(t, nil, cpuSpin)
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
	e := newEngine(t, nil, cpuSpin)
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
	e := newEngine(t, nil, `
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

func TestStaleSeriesResolvesOnce(t *testing.T) {
	e := newEngine(t, nil, cpuSpin)
	ctx := context.Background()
	p := proc{pid: 9, exe: "x"}
	for s := 0; s <= 30; s += 10 {
		ts := t0.Add(time.Duration(s) * time.Second)
		e.ObserveMetrics(ctx, metric(p, "linnix.process.cpu.cores", ts, 1), ts)
	}
	require.Len(t, e.Evaluate(t0.Add(30*time.Second)), 1)
	// No sample for longer than stale_after (1m): resolved, then forgotten.
	res := e.Evaluate(t0.Add(2 * time.Minute))
	require.Len(t, res, 1)
	assert.Equal(t, Resolved, res[0].State)
	assert.Empty(t, e.Evaluate(t0.Add(3*time.Minute)))
	assert.Zero(t, e.Stats().Tracked)
}

func TestExitResolvesAndDropsProcessState(t *testing.T) {
	e := newEngine(t, nil, cpuSpin+`
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
	e := newEngine(t, nil, forkStorm)
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
	var states []string
	for s := 2; s <= 20; s++ {
		for _, inc := range e.Evaluate(t0.Add(time.Duration(s) * time.Second)) {
			if inc.Rule == "fork_storm" {
				states = append(states, inc.State)
			}
		}
	}
	assert.Equal(t, []string{Resolved}, states)
}

func TestRateGroupsByParent(t *testing.T) {
	e := newEngine(t, nil, forkStorm)
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

func TestShortLivedCountsOnlyShortExits(t *testing.T) {
	e := newEngine(t, nil, `
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
	mem := &fakeMem{total: 64 << 30, avail: 32 << 30, limits: map[string]float64{"0::/app": 5 << 30}}
	e := newEngine(t, mem, memoryLeak)
	ctx := context.Background()
	node := proc{pid: 8821, exe: "node", cgroup: "0::/app"}
	var fired []Incident
	for s := 0; s <= 600; s += 10 {
		ts := t0.Add(time.Duration(s) * time.Second)
		rss := float64(1<<30) + float64(s)*(205<<20)/60 // +205 MiB/min
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
	e := newEngine(t, &fakeMem{total: 64 << 30, avail: 32 << 30}, memoryLeak)
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

func TestRatioAgainstCgroupLimitAndLowHostMemory(t *testing.T) {
	mem := &fakeMem{total: 16 << 30, avail: 8 << 30, limits: map[string]float64{"0::/db": 1e9}}
	e := newEngine(t, mem, `
rules:
  - name: oom_risk
    kind: ratio
    metric: process.memory.usage
    of: cgroup_memory_limit
    value: 0.9
    host_available_below: 0.05
    summary: "{{.Exe}} pid {{.PID}} uses {{pct .Value}} of {{.LimitName}} ({{bytes .Limit}})"
`)
	ctx := context.Background()
	db, big, small := proc{pid: 1, exe: "db", cgroup: "0::/db"}, proc{pid: 2, exe: "big"}, proc{pid: 3, exe: "small"}
	observe := func(ts time.Time, dbRSS float64) {
		e.ObserveMetrics(ctx, metric(db, "process.memory.usage", ts, dbRSS), ts)
		e.ObserveMetrics(ctx, metric(big, "process.memory.usage", ts, 6<<30), ts)
		e.ObserveMetrics(ctx, metric(small, "process.memory.usage", ts, 1<<20), ts)
	}
	observe(t0, 8.99e8)
	require.Empty(t, e.Evaluate(t0))
	observe(t0.Add(time.Second), 9e8)
	incs := e.Evaluate(t0.Add(time.Second))
	require.Len(t, incs, 1)
	assert.Equal(t, "db pid 1 uses 90% of its cgroup memory limit (954 MiB)", incs[0].Summary)

	// The host runs low: the largest process is blamed, the small one not.
	mem.avail = 0.04 * (16 << 30)
	observe(t0.Add(2*time.Second), 9e8)
	incs = e.Evaluate(t0.Add(2 * time.Second))
	require.Len(t, incs, 1)
	assert.Equal(t, int64(2), incs[0].Subject.PID)
	assert.Equal(t, "big pid 2 uses 38% of the host's memory (16 GiB)", incs[0].Summary)
}

func TestMaxTrackedEvictsLeastRecentlyUpdated(t *testing.T) {
	parsed, err := rules.Parse([]byte(cpuSpin))
	require.NoError(t, err)
	require.NoError(t, parsed[0].Validate(nil))
	e := New([]*Rule{{Rule: &parsed[0]}}, &fakeMem{}, 3, time.Minute)
	ctx := context.Background()
	for pid := int64(1); pid <= 5; pid++ {
		e.ObserveMetrics(ctx, metric(proc{pid: pid, exe: "x"}, "linnix.process.cpu.cores", t0, 0.1), t0)
	}
	st := e.Stats()
	assert.Equal(t, 3, st.Tracked)
	assert.Equal(t, int64(2), st.Evictions)
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

func TestMetricRulesGroupedByContainerSumItsProcesses(t *testing.T) {
	e := newEngine(t, nil, `
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
	e := newEngine(t, nil, forkStorm)
	ctx := context.Background()
	ld := logs(t0, forks(5000, 1, "java")...)
	lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := 0; i < lrs.Len(); i++ {
		lrs.At(i).Attributes().PutInt("thread.id", int64(20000+i))
	}
	e.ObserveLogs(ctx, ld, t0)
	assert.Empty(t, e.Evaluate(t0), "5,000 new threads are not a fork storm")
}

func TestEvictionSparesFiringStates(t *testing.T) {
	parsed, err := rules.Parse([]byte(cpuSpin))
	require.NoError(t, err)
	require.NoError(t, parsed[0].Validate(nil))
	parsed[0].For = 0
	e := New([]*Rule{{Rule: &parsed[0]}}, &fakeMem{}, 2, time.Minute)
	ctx := context.Background()
	e.ObserveMetrics(ctx, metric(proc{pid: 1, exe: "hot"}, "linnix.process.cpu.cores", t0, 1), t0)
	require.Len(t, e.Evaluate(t0), 1)
	for pid := int64(2); pid <= 5; pid++ {
		e.ObserveMetrics(ctx, metric(proc{pid: pid, exe: "cold"}, "linnix.process.cpu.cores", t0, 0.1), t0)
	}
	// The firing state of pid 1, the oldest, survived the evictions and
	// still resolves.
	e.ObserveMetrics(ctx, metric(proc{pid: 1, exe: "hot"}, "linnix.process.cpu.cores", t0.Add(time.Second), 0.1), t0.Add(time.Second))
	res := e.Evaluate(t0.Add(time.Second))
	require.Len(t, res, 1)
	assert.Equal(t, Resolved, res[0].State)
	assert.Equal(t, int64(1), res[0].Subject.PID)
}
