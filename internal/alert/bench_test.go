package alert_test

import (
	"encoding/json"
	"testing"

	"github.com/linnix-os/otelcol-linnix/internal/alert"
	"github.com/linnix-os/otelcol-linnix/internal/alerttest"
	"github.com/linnix-os/otelcol-linnix/internal/contract"
)

// BenchmarkMapping: record → Alert → routing → dedup state → a JSON
// payload, per incident, on one core. Report: incidents/s.
func BenchmarkMapping(b *testing.B) {
	inc := alerttest.Firing("047e83a903603901", contract.SeverityCritical)
	inc.Analysis = true
	ld := alerttest.Logs(inc)
	rl := ld.ResourceLogs().At(0)
	lr := rl.ScopeLogs().At(0).LogRecords().At(1)
	route := alert.Route{MinSeverity: contract.SeverityWarning}
	st := alert.NewState(0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a, err := alert.FromRecord(rl.Resource(), lr)
		if err != nil || !route.Allows(&a) {
			b.Fatal(err)
		}
		_ = st.ShouldSend(&a)
		if _, err := json.Marshal(payload(&a)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "incidents/s")
}

// payload is a representative destination payload (Alertmanager's).
func payload(a *alert.Alert) any {
	return []map[string]any{{
		"labels":      map[string]string{"alertname": a.Rule, "severity": a.Severity, "host": a.Host, "incident_id": a.ID},
		"annotations": map[string]string{"summary": a.Summary, "evidence": a.EvidenceJSON(), "actions": a.ActionsText(), "analysis": a.AnalysisText()},
		"startsAt":    a.Started,
	}}
}
