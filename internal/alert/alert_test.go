package alert_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/linnix-os/otelcol-linnix/internal/alert"
	"github.com/linnix-os/otelcol-linnix/internal/alerttest"
	"github.com/linnix-os/otelcol-linnix/internal/contract"
)

func first(ld plog.Logs) (alert.Alert, error) {
	rl := ld.ResourceLogs().At(0)
	return alert.FromRecord(rl.Resource(), rl.ScopeLogs().At(0).LogRecords().At(1))
}

func TestFromRecordMapsEveryDocumentedAttribute(t *testing.T) {
	inc := alerttest.Firing("047e83a903603901", contract.SeverityCritical)
	inc.Analysis = true
	a, err := first(alerttest.Logs(inc))
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != inc.ID || a.Rule != "cpu_spin" || a.Kind != "threshold" || a.Severity != "critical" || a.Action != alert.Trigger ||
		a.Host != "web-3" || a.Process.PID != 4412 || a.Process.Executable != "java" || a.Confidence != 0.84 ||
		!a.Started.Equal(inc.Started) || a.Evidence["held_seconds"] != int64(180) || len(a.Actions) != 2 ||
		a.Analysis == nil || a.Analysis.RootCause != "A retry loop without backoff." || a.Analysis.Model != "linnix-3b" {
		t.Errorf("alert = %+v", a)
	}
	if r, _ := first(alerttest.Logs(inc.Repeated())); r.Action != alert.Update {
		t.Errorf("a repeat maps to %s", r.Action)
	}
	if r, _ := first(alerttest.Logs(inc.Resolved())); r.Action != alert.Resolve {
		t.Errorf("a resolve maps to %s", r.Action)
	}
	if v, ok := a.Attr(contract.ProcessExecutablePath); !ok || v != "/usr/bin/java" {
		t.Errorf("Attr = %q %v", v, ok)
	}
	bad := inc
	bad.ID = ""
	if _, err := first(alerttest.Logs(bad)); !errors.Is(err, alert.ErrMalformed) {
		t.Errorf("no id: %v", err)
	}
}

func TestRouteFiltersBySeverityAndRule(t *testing.T) {
	r := alert.Route{MinSeverity: contract.SeverityWarning, Rules: alert.RuleFilter{Exclude: []string{"short_job_flood"}}}
	for _, c := range []struct {
		sev, rule string
		want      bool
	}{{"critical", "cpu_spin", true}, {"warning", "cpu_spin", true}, {"info", "cpu_spin", false},
		{"critical", "short_job_flood", false}, {"bogus", "cpu_spin", false}} {
		if got := r.Allows(&alert.Alert{Severity: c.sev, Rule: c.rule}); got != c.want {
			t.Errorf("%s %s: %v", c.sev, c.rule, got)
		}
	}
	only := alert.Route{Rules: alert.RuleFilter{Include: []string{"fork_storm"}}}
	if only.Allows(&alert.Alert{Rule: "cpu_spin"}) || !only.Allows(&alert.Alert{Rule: "fork_storm"}) {
		t.Error("include list")
	}
	if err := (&alert.Route{MinSeverity: "urgent"}).Check(); err == nil {
		t.Error("unknown severity accepted")
	}
}

func TestStateDeduplicatesAndForgetsResolvedFirst(t *testing.T) {
	s := alert.NewState(2)
	trig := &alert.Alert{ID: "a", Action: alert.Trigger}
	if !s.ShouldSend(trig) {
		t.Fatal("new incident not sent")
	}
	s.Delivered(trig, "pa")
	if s.ShouldSend(trig) {
		t.Error("a replayed trigger is sent again")
	}
	if !s.ShouldSend(&alert.Alert{ID: "a", Action: alert.Update}) {
		t.Error("a repeat is not sent")
	}
	s.Delivered(&alert.Alert{ID: "b", Action: alert.Trigger}, "pb")
	if got := s.Active(); len(got) != 2 {
		t.Errorf("active = %v", got)
	}
	s.Delivered(&alert.Alert{ID: "a", Action: alert.Resolve}, nil)
	if s.ShouldSend(&alert.Alert{ID: "a", Action: alert.Resolve}) || s.ShouldSend(&alert.Alert{ID: "a", Action: alert.Update}) {
		t.Error("a resolved incident is sent again")
	}
	// At the bound, the resolved one goes first; the firing one stays.
	s.Delivered(&alert.Alert{ID: "c", Action: alert.Trigger}, "pc")
	if got := s.Active(); len(got) != 2 || got[0] != "pb" || got[1] != "pc" {
		t.Errorf("active = %v", got)
	}
	// Beyond it, the oldest firing one is forgotten.
	s.Delivered(&alert.Alert{ID: "d", Action: alert.Trigger}, "pd")
	if got, evicted := s.Firing(); got != 2 || evicted != 1 {
		t.Errorf("firing %d evicted %d", got, evicted)
	}
}

func TestPushReturnsOnlyTheUndeliveredRecordsForRetry(t *testing.T) {
	tt := componenttest.NewTelemetry()
	defer tt.Shutdown(context.Background())
	mp := tt.NewTelemetrySettings().MeterProvider.Meter("t")
	sent, _ := mp.Int64Counter("otelcol_linnix.exporter.alerts.sent")
	failed, _ := mp.Int64Counter("otelcol_linnix.exporter.alerts.failed")
	skipped, _ := mp.Int64Counter("otelcol_linnix.exporter.records.skipped")
	var got []string
	p := &alert.Pusher{State: alert.NewState(0), Logger: zap.NewNop(), Tel: alert.Telemetry{Sent: sent, Failed: failed, Skipped: skipped},
		Send: func(_ context.Context, a *alert.Alert) (any, error) {
			if a.ID == "c" {
				return nil, alert.Classify(http.StatusServiceUnavailable, nil, "")
			}
			if a.ID == "x" {
				return nil, alert.Classify(http.StatusBadRequest, nil, "")
			}
			got = append(got, a.ID)
			return nil, nil
		}}
	ld := alerttest.Logs(alerttest.Firing("a", "critical"), alerttest.Firing("x", "critical"), alerttest.Firing("c", "critical"), alerttest.Firing("d", "critical"))
	err := p.Push(context.Background(), ld)
	var le consumererror.Logs
	if !errors.As(err, &le) || consumererror.IsPermanent(err) {
		t.Fatalf("err = %v, want a retryable consumererror.Logs", err)
	}
	if rest := le.Data(); rest.LogRecordCount() != 2 {
		t.Errorf("retry would resend %d records, want c and d", rest.LogRecordCount())
	}
	if len(got) != 1 || got[0] != "a" {
		t.Errorf("sent %v", got)
	}
	c := alerttest.Counts(tt, "otelcol_linnix.exporter.alerts.failed")
	if c["rejected"] != 1 || c["server_error"] != 1 {
		t.Errorf("failed = %v", c)
	}
	if s := alerttest.Counts(tt, "otelcol_linnix.exporter.records.skipped"); s["not_incident"] != 1 {
		t.Errorf("skipped = %v", s)
	}
}

func TestClassifyHonoursRetryAfter(t *testing.T) {
	h := http.Header{"Retry-After": {"7"}}
	err := alert.Classify(http.StatusTooManyRequests, h, "")
	if alert.Reason(err) != alert.FailThrottled || alert.RetryAfterOf(err) != 7*time.Second || consumererror.IsPermanent(err) {
		t.Errorf("429: %v", err)
	}
	if err := alert.Classify(http.StatusBadRequest, nil, ""); !consumererror.IsPermanent(err) || alert.Reason(err) != alert.FailRejected {
		t.Errorf("400: %v", err)
	}
	if err := alert.Classify(http.StatusBadGateway, nil, ""); consumererror.IsPermanent(err) || alert.Reason(err) != alert.FailServerError {
		t.Errorf("502: %v", err)
	}
}

func TestTruncateCountsCharacters(t *testing.T) {
	if got := alert.Truncate("ééééé", 3); got != "éé…" {
		t.Errorf("got %q", got)
	}
	if got := alert.Truncate("abc", 3); got != "abc" {
		t.Errorf("got %q", got)
	}
}
