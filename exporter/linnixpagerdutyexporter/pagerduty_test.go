package linnixpagerdutyexporter

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/linnix-os/otelcol-linnix/internal/alerttest"
	"github.com/linnix-os/otelcol-linnix/internal/contract"
)

func load(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	key := "linnix_pagerduty"
	if name != "" {
		key += "/" + name
	}
	sub, err := cm.Sub(key)
	if err != nil {
		t.Fatal(err)
	}
	cfg := NewFactory().CreateDefaultConfig()
	if err := sub.Unmarshal(cfg); err != nil {
		t.Fatal(err)
	}
	return cfg.(*Config), confmap.Validate(cfg)
}

func TestConfig(t *testing.T) {
	cfg, err := load(t, "")
	if err != nil || cfg.ClientConfig.Endpoint != DefaultEndpoint || cfg.SeverityMap[contract.SeverityWarning] != "warning" {
		t.Errorf("defaults: %v %+v", err, cfg)
	}
	cfg, err = load(t, "critical_only")
	if err != nil || cfg.MinSeverity != contract.SeverityCritical || cfg.SeverityMap[contract.SeverityWarning] != "error" ||
		cfg.Client != "linnix on web-3" || cfg.Rules.Exclude[0] != "short_job_flood" {
		t.Errorf("full: %v %+v", err, cfg)
	}
	for name, wants := range map[string][]string{
		"no_key":  {"routing_key: required"},
		"bad_map": {`severity_map: unknown incident severity "urgent"`, `severity_map::warning: unknown PagerDuty severity "page"`},
	} {
		_, err := load(t, name)
		for _, want := range wants {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: err = %v, want %q", name, err, want)
			}
		}
	}
}

// check verifies an event against the Events API v2 and returns it.
func check(t *testing.T, req alerttest.Request) Event {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(req.Body))
	dec.DisallowUnknownFields()
	var ev Event
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("not an Events API v2 event: %v\n%s", err, req.Body)
	}
	if ev.RoutingKey != "R0ut1ngK3y" || ev.DedupKey == "" || len(ev.DedupKey) > 255 {
		t.Errorf("keys: %+v", ev)
	}
	switch ev.EventAction {
	case "trigger":
		p := ev.Payload
		if p == nil || p.Summary == "" || utf8.RuneCountInString(p.Summary) > 1024 || p.Source == "" {
			t.Fatalf("trigger payload: %+v", p)
		}
		if !strings.Contains("critical error warning info", p.Severity) {
			t.Errorf("severity %q", p.Severity)
		}
		if _, err := time.Parse(time.RFC3339Nano, p.Timestamp); err != nil {
			t.Errorf("timestamp %q", p.Timestamp)
		}
	case "resolve":
		if ev.Payload != nil {
			t.Errorf("a resolve carries only the keys: %s", req.Body)
		}
	default:
		t.Errorf("event_action %q", ev.EventAction)
	}
	return ev
}

func TestPagerDutyTriggersWithTheDocumentedPayloadAndResolves(t *testing.T) {
	addr := alerttest.FreeAddr(t)
	srv := alerttest.NewServer(t, addr, http.StatusAccepted)
	srv.Start()
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.ClientConfig.Endpoint = srv.URL("/v2/enqueue")
	cfg.RoutingKey = "R0ut1ngK3y"
	cfg.MinSeverity = contract.SeverityCritical
	exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(NewFactory().Type()), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	defer exp.Shutdown(context.Background())

	inc := alerttest.Firing("047e83a903603901", contract.SeverityCritical)
	inc.Analysis = true
	inc.Summary = strings.Repeat("é", 2000) // beyond PagerDuty's 1,024
	warn := alerttest.Firing("0000000000000002", contract.SeverityWarning)
	for _, ld := range [][]alerttest.Incident{{inc, warn}, {inc.Resolved(), warn.Resolved()}} {
		if err := exp.ConsumeLogs(context.Background(), alerttest.Logs(ld...)); err != nil {
			t.Fatal(err)
		}
	}
	alerttest.WaitFor(t, 10*time.Second, "trigger and resolve", func() bool { return len(srv.Accepted()) >= 2 })
	time.Sleep(100 * time.Millisecond) // nothing else may follow (the warning is routed away)
	reqs := srv.Accepted()
	if len(reqs) != 2 {
		t.Fatalf("got %d events, want 2 (the warning incident is below min_severity)", len(reqs))
	}
	trig, res := check(t, reqs[0]), check(t, reqs[1])
	if trig.EventAction != "trigger" || res.EventAction != "resolve" || trig.DedupKey != inc.ID || res.DedupKey != inc.ID {
		t.Fatalf("events: %+v / %+v", trig, res)
	}
	p := trig.Payload
	if utf8.RuneCountInString(p.Summary) != 1024 || p.Source != "web-3" || p.Severity != "critical" ||
		p.Component != "java" || p.Group != "cpu_spin" || p.Class != "busy_loop" {
		t.Errorf("payload = %+v", p)
	}
	d := p.CustomDetails
	if d["incident_id"] != inc.ID || d["evidence"].(map[string]any)["value"] != 0.97 || len(d["actions"].([]any)) != 2 ||
		d["analysis"].(map[string]any)["root_cause"] != "A retry loop without backoff." {
		t.Errorf("custom_details = %v", d)
	}
}

func TestPagerDutyDeliversEachIncidentOnceThroughFaults(t *testing.T) {
	alerttest.RunFaults(t, alerttest.FaultCase{
		Factory: NewFactory(),
		Configure: func(c component.Config, url string) (*confighttp.ClientConfig, *configretry.BackOffConfig) {
			cfg := c.(*Config)
			cfg.ClientConfig.Endpoint, cfg.RoutingKey = url, "R0ut1ngK3y"
			return &cfg.ClientConfig, &cfg.RetryConfig
		},
		Path:     "/v2/enqueue",
		OKStatus: http.StatusAccepted,
		Parse: func(t *testing.T, req alerttest.Request) (string, string) {
			ev := check(t, req)
			return ev.DedupKey, ev.EventAction
		},
	})
}
