package alert

import (
	"context"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
)

type sinkExporter struct {
	component.StartFunc
	component.ShutdownFunc
	*consumertest.LogsSink
}

// TestOnlyIncidentsReachTheQueue: lifecycle records in the same pipeline
// are counted and dropped before the queue, so a down destination never
// fills it with them.
func TestOnlyIncidentsReachTheQueue(t *testing.T) {
	tt := componenttest.NewTelemetry()
	defer tt.Shutdown(context.Background())
	skipped, _ := tt.NewTelemetrySettings().MeterProvider.Meter("t").Int64Counter("skipped")
	sink := &consumertest.LogsSink{}
	e := incidentsOnly{Logs: sinkExporter{LogsSink: sink}, tel: Telemetry{Skipped: skipped}}

	ld := plog.NewLogs()
	life := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for range 3 {
		life.AppendEmpty().SetEventName(contract.EventExec)
	}
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr(contract.HostName, "web-3")
	recs := rl.ScopeLogs().AppendEmpty().LogRecords()
	recs.AppendEmpty().SetEventName(contract.EventFork)
	inc := recs.AppendEmpty()
	inc.SetEventName(contract.EventIncident)
	inc.Attributes().PutStr(contract.IncidentID, "a")

	if err := e.ConsumeLogs(context.Background(), ld); err != nil {
		t.Fatal(err)
	}
	if err := e.ConsumeLogs(context.Background(), plog.NewLogs()); err != nil {
		t.Fatal(err)
	}
	got := sink.AllLogs()
	if len(got) != 2 || got[0].LogRecordCount() != 1 || got[0].ResourceLogs().Len() != 1 {
		t.Fatalf("queued %d batches, the first with %d records", len(got), got[0].LogRecordCount())
	}
	kept := got[0].ResourceLogs().At(0)
	if h, _ := kept.Resource().Attributes().Get(contract.HostName); h.Str() != "web-3" {
		t.Errorf("the incident lost its resource: %v", kept.Resource().Attributes().AsRaw())
	}
	if id, _ := kept.ScopeLogs().At(0).LogRecords().At(0).Attributes().Get(contract.IncidentID); id.Str() != "a" {
		t.Errorf("queued record is not the incident")
	}
	m, err := tt.GetMetric("skipped")
	if err != nil {
		t.Fatal(err)
	}
	if dps := m.Data.(metricdata.Sum[int64]).DataPoints; len(dps) != 1 || dps[0].Value != 4 {
		t.Errorf("skipped = %+v, want the 4 lifecycle records", dps)
	}
}
