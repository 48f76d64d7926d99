package linnixalertmanagerexporter

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/linnix-os/otelcol-linnix/internal/alerttest"
)

// counted starts an exporter without queue or retry (a failure comes back
// at once) whose telemetry the test reads.
func counted(t *testing.T, endpoints ...string) (exporter.Logs, *componenttest.Telemetry) {
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { _ = tt.Shutdown(context.Background()) })
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.Endpoints = endpoints
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.RetryConfig.Enabled = false
	cfg.ResolveTimeout, cfg.RepostInterval = time.Second, 100*time.Millisecond
	set := exportertest.NewNopSettings(NewFactory().Type())
	set.TelemetrySettings = tt.NewTelemetrySettings()
	exp, err := NewFactory().CreateLogs(context.Background(), set, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = exp.Shutdown(context.Background()) })
	return exp, tt
}

func status(t *testing.T, code int) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestAlertmanagerCountsAFailureOncePerEndpoint(t *testing.T) {
	down1, down2 := status(t, http.StatusServiceUnavailable), status(t, http.StatusServiceUnavailable)
	exp, tt := counted(t, down1, down2)
	if err := exp.ConsumeLogs(context.Background(), alerttest.Logs(now("2222222222222222"))); err == nil {
		t.Fatal("both endpoints down, yet delivered")
	}
	if c := alerttest.Counts(tt, "otelcol_linnix.exporter.alerts.failed"); c["server_error"] != 2 || len(c) != 1 {
		t.Errorf("failed = %v, want server_error 2 (one per endpoint, none overall)", c)
	}

	// One endpoint up: delivered, the other one's failure counted.
	exp, tt = counted(t, status(t, http.StatusOK), down1)
	if err := exp.ConsumeLogs(context.Background(), alerttest.Logs(now("3333333333333333"))); err != nil {
		t.Fatal(err)
	}
	if c := alerttest.Counts(tt, "otelcol_linnix.exporter.alerts.failed"); c["server_error"] != 1 {
		t.Errorf("failed = %v, want server_error 1", c)
	}
}

func TestAlertmanagerCountsRepostsAsSent(t *testing.T) {
	exp, tt := counted(t, status(t, http.StatusOK))
	if err := exp.ConsumeLogs(context.Background(), alerttest.Logs(now("4444444444444444"))); err != nil {
		t.Fatal(err)
	}
	alerttest.WaitFor(t, 5*time.Second, "a re-post counted sent", func() bool {
		return alerttest.Counts(tt, "otelcol_linnix.exporter.alerts.sent")["repost"] >= 1
	})
	if c := alerttest.Counts(tt, "otelcol_linnix.exporter.alerts.sent"); c["trigger"] != 1 {
		t.Errorf("sent = %v, want trigger 1", c)
	}
}
