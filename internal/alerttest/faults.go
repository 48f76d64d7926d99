package alerttest

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
)

// FaultCase describes an exporter to put through RunFaults.
type FaultCase struct {
	Factory exporter.Factory
	// Configure points cfg at url and returns its client and retry
	// settings for the test to shorten.
	Configure func(cfg component.Config, url string) (*confighttp.ClientConfig, *configretry.BackOffConfig)
	Path      string
	OKStatus  int
	// Parse checks one accepted body against the documented payload and
	// returns its incident id and action (trigger, update, resolve).
	Parse func(t *testing.T, req Request) (id, action string)
}

// BadID is an incident the destination refuses with 400, always.
const BadID = "bad0000000000001"

// RunFaults sends three incidents, each firing then resolving, through a
// destination that is first down (connection refused), then answers 429
// with Retry-After: 1, 500, stalls 30 s, 500 again, and always answers
// 400 to BadID. Every other incident must end as exactly one trigger and
// one resolve delivered; BadID's two alerts are counted failed (rejected)
// and never retried.
func RunFaults(t *testing.T, c FaultCase) {
	addr := FreeAddr(t)
	srv := NewServer(t, addr, c.OKStatus)
	srv.Reject = func(body []byte) bool { return bytes.Contains(body, []byte(BadID)) }
	srv.Script(
		Response{Status: http.StatusTooManyRequests, RetryAfter: "1"},
		Response{Status: http.StatusInternalServerError},
		Response{Stall: 30 * time.Second},
		Response{Status: http.StatusServiceUnavailable},
	)

	cfg := c.Factory.CreateDefaultConfig()
	client, retry := c.Configure(cfg, srv.URL(c.Path))
	client.Timeout = 500 * time.Millisecond
	retry.InitialInterval, retry.MaxInterval, retry.RandomizationFactor = 50*time.Millisecond, 200*time.Millisecond, 0
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { _ = tt.Shutdown(context.Background()) })
	set := exportertest.NewNopSettings(c.Factory.Type())
	set.TelemetrySettings = tt.NewTelemetrySettings()
	exp, err := c.Factory.CreateLogs(context.Background(), set, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := exp.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	}()

	a, bad, b := Firing("a000000000000001", contract.SeverityCritical), Firing(BadID, contract.SeverityCritical), Firing("b000000000000001", contract.SeverityWarning)
	for _, ld := range [][]Incident{{a, bad, b}, {a.Resolved(), bad.Resolved(), b.Resolved()}, {a}} { // the last: a replayed trigger
		if err := exp.ConsumeLogs(context.Background(), Logs(ld...)); err != nil {
			t.Fatal(err)
		}
	}
	WaitFor(t, 10*time.Second, "a refused connection", func() bool { return Counts(tt, "otelcol_linnix.exporter.alerts.failed")["connection"] > 0 })
	srv.Start()

	WaitFor(t, 60*time.Second, "four alerts delivered and two refused", func() bool {
		return len(srv.Accepted()) >= 4 && Counts(tt, "otelcol_linnix.exporter.alerts.failed")["rejected"] >= 2 &&
			Counts(tt, "otelcol_linnix.exporter.records.skipped")["duplicate"] >= 1
	})

	got := map[string][]string{}
	for _, req := range srv.Accepted() {
		id, action := c.Parse(t, req)
		got[id] = append(got[id], action)
	}
	for _, id := range []string{a.ID, b.ID} {
		if len(got[id]) != 2 || got[id][0] != "trigger" || got[id][1] != "resolve" {
			t.Errorf("incident %s delivered as %v, want exactly [trigger resolve]", id, got[id])
		}
	}
	if len(got[BadID]) != 0 {
		t.Errorf("refused incident delivered: %v", got[BadID])
	}
	failed := Counts(tt, "otelcol_linnix.exporter.alerts.failed")
	for _, reason := range []string{"connection", "throttled", "server_error", "timeout"} {
		if failed[reason] == 0 {
			t.Errorf("no failure counted as %s: %v", reason, failed)
		}
	}
	if failed["rejected"] != 2 {
		t.Errorf("rejected = %d, want 2 (BadID's trigger and resolve, never retried)", failed["rejected"])
	}
	if sent := Counts(tt, "otelcol_linnix.exporter.alerts.sent"); sent["trigger"] != 2 || sent["resolve"] != 2 {
		t.Errorf("sent = %v, want 2 triggers and 2 resolves", sent)
	}
	if skipped := Counts(tt, "otelcol_linnix.exporter.records.skipped"); skipped["not_incident"] != 3 || skipped["duplicate"] != 1 {
		t.Errorf("skipped = %v, want 3 not_incident and 1 duplicate", skipped)
	}
	// Retry-After was honoured: nothing was answered within 1 s after the 429.
	answers := srv.Answered()
	for i, ans := range answers {
		if ans.Status == http.StatusTooManyRequests && i+1 < len(answers) {
			if gap := answers[i+1].At.Sub(ans.At); gap < 900*time.Millisecond {
				t.Errorf("next request %v after a 429 with Retry-After: 1", gap)
			}
		}
	}
	var bad400 int
	for _, ans := range answers {
		if ans.Status == http.StatusBadRequest {
			bad400++
		}
	}
	if bad400 != 2 {
		t.Errorf("400 answered %d times, want 2: a permanent error must not be retried", bad400)
	}
}
