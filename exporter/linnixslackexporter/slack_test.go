package linnixslackexporter

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/exporter"
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
	key := "linnix_slack"
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
	if cfg, err := load(t, ""); err != nil || cfg.RateLimit != (RateLimit{PerSecond: 1, Burst: 3}) || cfg.NotifyRepeats {
		t.Errorf("defaults: %v %+v", err, cfg)
	}
	if cfg, err := load(t, "custom"); err != nil || !cfg.NotifyRepeats || cfg.RateLimit.Burst != 1 || cfg.Templates.Text != "{{.Summary}}" {
		t.Errorf("custom: %v %+v", err, cfg)
	}
	for name, want := range map[string]string{
		"no_url":       "webhook_url: required",
		"bad_template": "templates::firing_title: template: templates::firing_title:1:2: executing \"templates::firing_title\" at <.Hostname>: can't evaluate field Hostname",
	} {
		if _, err := load(t, name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", name, err, want)
		}
	}
}

// check verifies a message against Block Kit's rules and returns its
// incident id and action (from the context block).
func check(t *testing.T, req alerttest.Request) (Message, string, string) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(req.Body))
	dec.DisallowUnknownFields()
	var m Message
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("not a webhook message: %v\n%s", err, req.Body)
	}
	if m.Text == "" || len(m.Blocks) == 0 || len(m.Blocks) > 50 {
		t.Fatalf("message = %s", req.Body)
	}
	for _, b := range m.Blocks {
		switch b.Type {
		case "header":
			if b.Text == nil || b.Text.Type != "plain_text" || utf8.RuneCountInString(b.Text.Text) > 150 {
				t.Errorf("header block %+v", b)
			}
		case "section":
			if b.Text == nil && len(b.Fields) == 0 || len(b.Fields) > 10 {
				t.Errorf("section block %+v", b)
			}
			if b.Text != nil && utf8.RuneCountInString(b.Text.Text) > 3000 {
				t.Errorf("section text of %d characters", utf8.RuneCountInString(b.Text.Text))
			}
			for _, f := range b.Fields {
				if utf8.RuneCountInString(f.Text) > 2000 {
					t.Errorf("field of %d characters", utf8.RuneCountInString(f.Text))
				}
			}
		case "context":
			if len(b.Elements) == 0 {
				t.Errorf("context block %+v", b)
			}
		default:
			t.Errorf("unexpected block type %q", b.Type)
		}
	}
	last := m.Blocks[len(m.Blocks)-1]
	sm := regexp.MustCompile("incident `([^`]+)` · (\\w+)").FindStringSubmatch(last.Elements[0].Text)
	if sm == nil {
		t.Fatalf("no incident in the context block: %s", req.Body)
	}
	return m, sm[1], sm[2]
}

func newExporter(t *testing.T, cfg *Config) exporter.Logs {
	exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(NewFactory().Type()), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = exp.Shutdown(context.Background()) })
	return exp
}

func TestSlackPostsAFiringAndAResolvedMessage(t *testing.T) {
	addr := alerttest.FreeAddr(t)
	srv := alerttest.NewServer(t, addr, http.StatusOK)
	srv.Start()
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.WebhookURL = configopaque.String(srv.URL("/services/T0/B0/x"))
	exp := newExporter(t, cfg)

	inc := alerttest.Firing("047e83a903603901", contract.SeverityCritical)
	inc.Analysis = true
	for _, ld := range [][]alerttest.Incident{{inc}, {inc.Repeated()}, {inc.Resolved()}} {
		if err := exp.ConsumeLogs(context.Background(), alerttest.Logs(ld...)); err != nil {
			t.Fatal(err)
		}
	}
	alerttest.WaitFor(t, 10*time.Second, "two messages", func() bool { return len(srv.Accepted()) >= 2 })
	time.Sleep(100 * time.Millisecond)
	reqs := srv.Accepted()
	if len(reqs) != 2 {
		t.Fatalf("%d messages, want 2: a repeat posts nothing by default", len(reqs))
	}
	fire, id, action := check(t, reqs[0])
	if id != inc.ID || action != "trigger" {
		t.Errorf("first message: %s %s", id, action)
	}
	body := string(reqs[0].Body)
	for _, want := range []string{":red_circle: critical: java pid 4412 sustained 97% CPU for 3m", "*Severity*\\ncritical", "*Host*\\nweb-3",
		"*Process*\\njava pid 4412", "*Evidence*", `\"value\":0.97`, "• Look at what it does: top -H -p 4412",
		"*Analysis* (busy_loop, confidence 0.80)", "A retry loop without backoff."} {
		if !strings.Contains(body, want) {
			t.Errorf("firing message lacks %q:\n%s", want, body)
		}
	}
	if fire.Text != "[critical] cpu_spin on web-3: java pid 4412 sustained 97% CPU for 3m" {
		t.Errorf("text = %q", fire.Text)
	}
	res, id, action := check(t, reqs[1])
	if id != inc.ID || action != "resolve" || !strings.HasPrefix(res.Blocks[0].Text.Text, ":white_check_mark: Resolved: resolved: java") ||
		!strings.Contains(string(reqs[1].Body), "*Lasted*\\n5m0s") {
		t.Errorf("resolved message: %s", reqs[1].Body)
	}
}

func TestSlackKeepsToTheRateLimit(t *testing.T) {
	addr := alerttest.FreeAddr(t)
	srv := alerttest.NewServer(t, addr, http.StatusOK)
	srv.Start()
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.WebhookURL = configopaque.String(srv.URL("/services/T0/B0/x"))
	cfg.RateLimit = RateLimit{PerSecond: 5, Burst: 2}
	exp := newExporter(t, cfg)
	var incs []alerttest.Incident
	for _, id := range []string{"1", "2", "3", "4", "5", "6", "7"} {
		incs = append(incs, alerttest.Firing("000000000000000"+id, contract.SeverityInfo))
	}
	if err := exp.ConsumeLogs(context.Background(), alerttest.Logs(incs...)); err != nil {
		t.Fatal(err)
	}
	alerttest.WaitFor(t, 10*time.Second, "seven messages", func() bool { return len(srv.Accepted()) == 7 })
	reqs := srv.Accepted()
	// In any window, at most burst + rate × window messages arrived.
	for i := range reqs {
		for j := i + 1; j < len(reqs); j++ {
			window := reqs[j].At.Sub(reqs[i].At).Seconds()
			if n := float64(j - i + 1); n > 2+5*window+0.5 {
				t.Errorf("%v messages within %.3fs", n, window)
			}
		}
	}
}

func TestSlackDeliversEachIncidentOnceThroughFaults(t *testing.T) {
	alerttest.RunFaults(t, alerttest.FaultCase{
		Factory: NewFactory(),
		Configure: func(c component.Config, url string) (*confighttp.ClientConfig, *configretry.BackOffConfig) {
			cfg := c.(*Config)
			cfg.WebhookURL = configopaque.String(url)
			cfg.RateLimit = RateLimit{PerSecond: 10, Burst: 3}
			return &cfg.ClientConfig, &cfg.RetryConfig
		},
		Path:     "/services/T0/B0/x",
		OKStatus: http.StatusOK,
		Parse: func(t *testing.T, req alerttest.Request) (string, string) {
			_, id, action := check(t, req)
			return id, action
		},
	})
}
