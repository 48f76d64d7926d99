package incidentprocessor

import (
	"context"
	"runtime"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/metadata"
)

const benchProcs = 1000

// collection builds one collection of the receiver's per-process metrics
// for n processes.
func collection(n int, ts time.Time) pmetric.Metrics {
	md := pmetric.NewMetrics()
	for pid := 1; pid <= n; pid++ {
		rm := md.ResourceMetrics().AppendEmpty()
		a := rm.Resource().Attributes()
		a.PutInt("process.pid", int64(pid))
		a.PutStr("process.executable.name", "worker")
		a.PutStr("process.creation.time", "2026-11-26T10:00:00Z")
		a.PutStr("process.linux.cgroup", "0::/bench")
		a.PutStr("host.name", "h")
		ms := rm.ScopeMetrics().AppendEmpty().Metrics()
		for _, name := range []string{"linnix.process.cpu.cores", "process.memory.usage", "process.memory.virtual", "process.thread.count", "process.uptime"} {
			m := ms.AppendEmpty()
			m.SetName(name)
			dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
			dp.SetTimestamp(pcommon.NewTimestampFromTime(ts))
			dp.SetDoubleValue(float64(pid))
		}
	}
	return md
}

func lifecycleBatch(n int, ts time.Time) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("host.name", "h")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	for i := 0; i < n; i++ {
		lr := lrs.AppendEmpty()
		lr.SetEventName([]string{"linnix.process.fork", "linnix.process.exec", "linnix.process.exit"}[i%3])
		lr.SetTimestamp(pcommon.NewTimestampFromTime(ts))
		a := lr.Attributes()
		a.PutInt("process.pid", int64(100000+i))
		a.PutInt("process.parent_pid", int64(1+i%benchProcs))
		a.PutStr("process.executable.name", "worker")
		a.PutDouble("linnix.process.lifetime", 2)
	}
	return ld
}

func benchPipelines(b *testing.B) (processor.Logs, processor.Metrics, *incidentProcessor) {
	b.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.EvaluationInterval = time.Hour
	set := processortest.NewNopSettings(metadata.Type)
	lp, err := NewFactory().CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	mp, err := NewFactory().CreateMetrics(context.Background(), set, cfg, consumertest.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	if err := lp.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = lp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) })
	return lp, mp, shared(set, cfg).Value
}

// BenchmarkLifecycleRecords: lifecycle records per second through the
// processor with the default rules, 1,000 parents tracked.
func BenchmarkLifecycleRecords(b *testing.B) {
	lp, _, _ := benchPipelines(b)
	ld := lifecycleBatch(1000, time.Now())
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := lp.ConsumeLogs(ctx, ld); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkMetricCollection: one collection of 1,000 processes' metrics
// through the processor with the default rules, and an evaluation.
func BenchmarkMetricCollection(b *testing.B) {
	_, mp, p := benchPipelines(b)
	ctx := context.Background()
	ts := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		ts = ts.Add(10 * time.Second)
		md := collection(benchProcs, ts)
		p.now = func() time.Time { return ts }
		b.StartTimer()
		mp.ConsumeMetrics(ctx, md) //nolint:errcheck
		p.evaluate(ctx)
	}
	points := benchProcs * 5
	b.ReportMetric(float64(b.N)*float64(points)/b.Elapsed().Seconds(), "points/s")
}

// BenchmarkStatePerProcess reports the heap held per tracked process once
// every default rule has a full window (10 minutes at a 10s interval).
func BenchmarkStatePerProcess(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		_, mp, p := benchPipelines(b)
		ctx := context.Background()
		ts := time.Now()
		batches := make([]pmetric.Metrics, 60)
		for i := range batches {
			batches[i] = collection(benchProcs, ts.Add(time.Duration(i)*10*time.Second))
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.StartTimer()
		for i, md := range batches {
			now := ts.Add(time.Duration(i) * 10 * time.Second)
			p.now = func() time.Time { return now }
			mp.ConsumeMetrics(ctx, md) //nolint:errcheck
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(batches) // measure the state, not the input
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/benchProcs, "bytes/process")
		b.ReportMetric(float64(p.engine.Stats().Tracked)/benchProcs, "states/process")
		runtime.KeepAlive(mp)
		b.StartTimer()
	}
}
