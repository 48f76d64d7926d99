package grounding

import (
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/engine"
)

func hostMemory(host string, total, avail int64) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr(contract.HostName, host)
	ms := rm.ScopeMetrics().AppendEmpty().Metrics()
	m := ms.AppendEmpty()
	m.SetName(contract.MetricMemoryLimit)
	m.SetEmptySum().DataPoints().AppendEmpty().SetIntValue(total)
	m = ms.AppendEmpty()
	m.SetName(contract.MetricMemoryAvailable)
	m.SetEmptyGauge().DataPoints().AppendEmpty().SetIntValue(avail)
	return md
}

func TestHostMemoryComesFromTheIncidentsHostMetrics(t *testing.T) {
	tr := New()
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tr.ObserveMetrics(hostMemory("h1", 16<<30, 4<<30), t0)
	tr.ObserveMetrics(hostMemory("h2", 8<<30, 1<<30), t0)
	inc := engine.Incident{Rule: "r", Subject: engine.Subject{PID: 1, Host: "h2"}}

	in := tr.Input(inc, t0.Add(time.Second), time.Minute)
	if in.HostMemoryTotal != 8<<30 || in.HostMemoryAvailable != 1<<30 {
		t.Errorf("got %v/%v, want h2's 8 GiB/1 GiB", in.HostMemoryTotal, in.HostMemoryAvailable)
	}
	in = tr.Input(inc, t0.Add(2*time.Minute), time.Minute)
	if in.HostMemoryTotal != 0 {
		t.Errorf("stale host memory stated: %v", in.HostMemoryTotal)
	}
	inc.Subject.Host = "h3"
	if in = tr.Input(inc, t0.Add(time.Second), time.Minute); in.HostMemoryTotal != 0 {
		t.Errorf("another host's memory stated: %v", in.HostMemoryTotal)
	}
}
