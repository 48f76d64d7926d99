package incidentprocessor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/metadata"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/rules"
)

type pipelines struct {
	logs    *consumertest.LogsSink
	metrics *consumertest.MetricsSink
	p       *incidentProcessor
	lp      processor.Logs
	mp      processor.Metrics
}

// startPipelines puts one processor in a logs and a metrics pipeline, as a
// collector config naming the same component ID twice does.
func startPipelines(t *testing.T, cfg *Config) *pipelines {
	t.Helper()
	ps := &pipelines{logs: new(consumertest.LogsSink), metrics: new(consumertest.MetricsSink)}
	set := processortest.NewNopSettings(metadata.Type)
	f := NewFactory()
	lp, err := f.CreateLogs(context.Background(), set, cfg, ps.logs)
	require.NoError(t, err)
	mp, err := f.CreateMetrics(context.Background(), set, cfg, ps.metrics)
	require.NoError(t, err)
	ps.lp, ps.mp = lp, mp
	require.Equal(t, 1, processors.Len(), "one instance for both pipelines")
	ps.p = shared(set, cfg).Value
	require.NoError(t, lp.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, mp.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() {
		require.NoError(t, lp.Shutdown(context.Background()))
		require.NoError(t, mp.Shutdown(context.Background()))
	})
	return ps
}

func spinConfig() *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.DefaultRules = false
	cfg.EvaluationInterval = time.Hour // the test evaluates by hand
	cfg.Rules = []rules.Rule{{
		Name: "cpu_spin", Kind: rules.KindThreshold, Metric: "linnix.process.cpu.cores", Value: 0.95,
		For: 10 * time.Second, Summary: "{{.Exe}} pid {{.PID}} sustained {{pct .Value}} CPU for {{dur .For}}",
		Actions: []string{"perf top -p {{.PID}}"},
	}}
	return cfg
}

func cores(pid int64, ts time.Time, v float64) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutInt("process.pid", pid)
	rm.Resource().Attributes().PutStr("process.executable.name", "java")
	rm.Resource().Attributes().PutStr("process.executable.path", "/usr/bin/java")
	rm.Resource().Attributes().PutStr("container.id", "abc")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("linnix.process.cpu.cores")
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetTimestamp(pcommon.NewTimestampFromTime(ts))
	dp.SetDoubleValue(v)
	return md
}

func incidentRecords(sink *consumertest.LogsSink) []plog.LogRecord {
	var out []plog.LogRecord
	for _, ld := range sink.AllLogs() {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			for j := 0; j < ld.ResourceLogs().At(i).ScopeLogs().Len(); j++ {
				lrs := ld.ResourceLogs().At(i).ScopeLogs().At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					if lrs.At(k).EventName() == incidentEventName {
						out = append(out, lrs.At(k))
					}
				}
			}
		}
	}
	return out
}

func TestMetricsInIncidentsOut(t *testing.T) {
	ps := startPipelines(t, spinConfig())
	ctx := context.Background()
	t0 := time.Now()
	for s := 0; s <= 10; s += 5 {
		ts := t0.Add(time.Duration(s) * time.Second)
		ps.p.now = func() time.Time { return ts }
		require.NoError(t, ps.mp.ConsumeMetrics(ctx, cores(4412, ts, 0.97)))
		ps.p.evaluate(ctx)
	}
	assert.Equal(t, 3, ps.metrics.DataPointCount(), "metrics pass through")
	recs := incidentRecords(ps.logs)
	require.Len(t, recs, 1)
	lr := recs[0]
	assert.Equal(t, "java pid 4412 sustained 97% CPU for 10s", lr.Body().Str())
	assert.Equal(t, plog.SeverityNumberWarn, lr.SeverityNumber())
	a := lr.Attributes().AsRaw()
	assert.Equal(t, "cpu_spin", a["incident.rule"])
	assert.Equal(t, "threshold", a["incident.kind"])
	assert.Equal(t, "warning", a["incident.severity"])
	assert.Equal(t, "firing", a["incident.state"])
	assert.Equal(t, int64(4412), a["process.pid"])
	assert.Equal(t, "java", a["process.executable.name"])
	assert.Equal(t, "/usr/bin/java", a["process.executable.path"])
	assert.Equal(t, "abc", a["container.id"])
	assert.Equal(t, []any{"perf top -p 4412"}, a["incident.actions"])
	assert.InDelta(t, 0.97, a["incident.evidence"].(map[string]any)["linnix.process.cpu.cores"], 1e-9)
	assert.NotEmpty(t, a["incident.id"])
	_, err := time.Parse(time.RFC3339Nano, a["incident.started"].(string))
	assert.NoError(t, err)
	assert.Greater(t, a["incident.confidence"], 0.0)

	// It clears: one resolve with the same id, informational.
	ts := t0.Add(15 * time.Second)
	ps.p.now = func() time.Time { return ts }
	require.NoError(t, ps.mp.ConsumeMetrics(ctx, cores(4412, ts, 0.1)))
	ps.p.evaluate(ctx)
	recs = incidentRecords(ps.logs)
	require.Len(t, recs, 2)
	assert.Equal(t, "resolved", recs[1].Attributes().AsRaw()["incident.state"])
	assert.Equal(t, a["incident.id"], recs[1].Attributes().AsRaw()["incident.id"])
	assert.Equal(t, plog.SeverityNumberInfo, recs[1].SeverityNumber())
}

func TestPassthroughOff(t *testing.T) {
	cfg := spinConfig()
	cfg.Passthrough = false
	ps := startPipelines(t, cfg)
	require.NoError(t, ps.mp.ConsumeMetrics(context.Background(), cores(1, time.Now(), 0.1)))
	require.NoError(t, ps.lp.ConsumeLogs(context.Background(), plog.NewLogs()))
	assert.Zero(t, ps.metrics.DataPointCount())
	assert.Empty(t, ps.logs.AllLogs())
}

func TestLogsPassThroughUnchanged(t *testing.T) {
	ps := startPipelines(t, spinConfig())
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName("linnix.process.exec")
	lr.Body().SetStr("exec /bin/true")
	require.NoError(t, ps.lp.ConsumeLogs(context.Background(), ld))
	require.Len(t, ps.logs.AllLogs(), 1)
	assert.Equal(t, "exec /bin/true", ps.logs.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().Str())
}

func TestMetricsPipelineAloneWritesIncidentsToTheCollectorLog(t *testing.T) {
	cfg := spinConfig()
	core, logs := observer.New(zap.WarnLevel)
	set := processortest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	mp, err := NewFactory().CreateMetrics(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, mp.Start(context.Background(), componenttest.NewNopHost()))
	p := shared(set, cfg).Value
	ts := time.Now()
	for range 3 {
		ts = ts.Add(10 * time.Second)
		require.NoError(t, mp.ConsumeMetrics(context.Background(), cores(4412, ts, 0.97)))
	}
	p.now = func() time.Time { return ts }
	p.evaluate(context.Background())
	require.NoError(t, mp.Shutdown(context.Background()))
	assert.Equal(t, 1, logs.FilterMessageSnippet("no logs pipeline").Len())
	incidents := logs.FilterMessage("Incident").All()
	require.Len(t, incidents, 1)
	assert.Equal(t, "cpu_spin", incidents[0].ContextMap()["rule"])
}

func TestEachPipelineKeepsItsOwnData(t *testing.T) {
	cfg := spinConfig()
	set := processortest.NewNopSettings(metadata.Type)
	a, b := new(consumertest.LogsSink), new(consumertest.LogsSink)
	pa, err := NewFactory().CreateLogs(context.Background(), set, cfg, a)
	require.NoError(t, err)
	pb, err := NewFactory().CreateLogs(context.Background(), set, cfg, b)
	require.NoError(t, err)
	require.NoError(t, pa.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, pa.Shutdown(context.Background())) })
	require.NoError(t, pa.ConsumeLogs(context.Background(), plog.NewLogs()))
	require.NoError(t, pb.ConsumeLogs(context.Background(), plog.NewLogs()))
	require.NoError(t, pb.ConsumeLogs(context.Background(), plog.NewLogs()))
	assert.Len(t, a.AllLogs(), 1)
	assert.Len(t, b.AllLogs(), 2)
}

func TestTwoLogsPipelinesWarnOfDoubleCounting(t *testing.T) {
	cfg := spinConfig()
	core, logs := observer.New(zap.WarnLevel)
	set := processortest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	f := NewFactory()
	// The collector creates every component before it starts any.
	var created []processor.Logs
	for range 2 {
		lp, err := f.CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
		require.NoError(t, err)
		created = append(created, lp)
	}
	for _, lp := range created {
		require.NoError(t, lp.Start(context.Background(), componenttest.NewNopHost()))
	}
	for _, lp := range created {
		require.NoError(t, lp.Shutdown(context.Background()))
	}
	warned := logs.FilterMessageSnippet("more than one pipeline").All()
	require.Len(t, warned, 1)
	assert.EqualValues(t, 2, warned[0].ContextMap()["logs_pipelines"])
}

// A storm's incident leaves with the batch that fires it, not at the next
// evaluation (here an hour away).
func TestStormFiresAsItsRecordsArrive(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.EvaluationInterval = time.Hour
	ps := startPipelines(t, cfg)
	ctx := context.Background()
	onset := time.Now()
	pid := int64(1000)
	for ms := 0; ms < 1000; ms += 10 {
		ts := onset.Add(time.Duration(ms) * time.Millisecond)
		ps.p.now = func() time.Time { return ts }
		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("host.name", "web-3")
		lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
		for range 15 { // 1500 forks/s
			pid++
			lr := lrs.AppendEmpty()
			lr.SetEventName("linnix.process.fork")
			lr.SetTimestamp(pcommon.NewTimestampFromTime(ts))
			lr.Attributes().PutInt("process.pid", pid)
			lr.Attributes().PutInt("process.parent_pid", 1)
		}
		require.NoError(t, ps.lp.ConsumeLogs(ctx, ld))
		if len(incidentRecords(ps.logs)) > 0 {
			break
		}
	}
	recs := incidentRecords(ps.logs)
	require.Len(t, recs, 1)
	a := recs[0].Attributes().AsRaw()
	assert.Equal(t, "fork_storm", a["incident.rule"])
	latency := recs[0].Timestamp().AsTime().Sub(onset)
	assert.LessOrEqual(t, latency, time.Second)
	assert.Regexp(t, `^1\d\d\d forks/s on web-3: 1\d\d\d processes forked in the last 5s$`, recs[0].Body().Str())
	t.Logf("onset → incident %v: %s", latency, recs[0].Body().Str())
}
