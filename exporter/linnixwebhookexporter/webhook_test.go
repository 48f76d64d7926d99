package linnixwebhookexporter

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/linnix-os/otelcol-linnix/internal/alerttest"
	"github.com/linnix-os/otelcol-linnix/internal/contract"
)

// parse checks a body against the documented document (README, "The
// document") with a strict decoder, and the signature when secret is set.
func parse(t *testing.T, req alerttest.Request, secret string) Document {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(req.Body))
	dec.DisallowUnknownFields()
	var d Document
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("body is not the documented document: %v\n%s", err, req.Body)
	}
	var raw map[string]map[string]any
	_ = json.Unmarshal(req.Body, &raw)
	for _, k := range []string{"id", "rule", "kind", "severity", "state", "repeat", "summary", "started", "time", "confidence", "evidence", "actions"} {
		if _, ok := raw["incident"][k]; !ok {
			t.Errorf("incident.%s missing from %s", k, req.Body)
		}
	}
	if d.Version != Version || d.Kind != contract.EventIncident {
		t.Errorf("version/kind = %q/%q", d.Version, d.Kind)
	}
	if _, err := time.Parse(time.RFC3339Nano, d.SentAt); err != nil {
		t.Errorf("sent_at %q: %v", d.SentAt, err)
	}
	if secret != "" {
		ts := req.Header.Get("X-Linnix-Timestamp")
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || time.Since(time.Unix(sec, 0)).Abs() > time.Minute {
			t.Errorf("timestamp header %q is not now", ts)
		}
		if got, want := req.Header.Get("X-Linnix-Signature"), Sign([]byte(secret), ts, req.Body); got != want {
			t.Errorf("signature = %q, want %q", got, want)
		}
	}
	return d
}

func TestWebhookSendsTheDocumentedSignedDocument(t *testing.T) {
	addr := alerttest.FreeAddr(t)
	srv := alerttest.NewServer(t, addr, http.StatusOK)
	srv.Start()
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.URL = configopaque.String("http://" + addr + "/hook")
	cfg.Secret = "s3cret"
	cfg.ClientConfig.Headers = append(cfg.ClientConfig.Headers, headerPair("X-Team", "sre"))
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
	for _, ld := range [][]alerttest.Incident{{inc}, {inc.Repeated()}, {inc.Resolved()}} {
		if err := exp.ConsumeLogs(context.Background(), alerttest.Logs(ld...)); err != nil {
			t.Fatal(err)
		}
	}
	alerttest.WaitFor(t, 10*time.Second, "three requests", func() bool { return len(srv.Accepted()) == 3 })
	var actions []string
	for _, req := range srv.Accepted() {
		d := parse(t, req, "s3cret")
		actions = append(actions, d.Action)
		if req.Header.Get("X-Team") != "sre" {
			t.Errorf("custom header missing: %v", req.Header)
		}
		i := d.Incident
		if i.ID != inc.ID || i.Rule != "cpu_spin" || i.Host != "web-3" || i.Process == nil || i.Process.PID != 4412 ||
			i.Process.Executable != "java" || i.Evidence["value"] != 0.97 || len(i.Actions) != 2 {
			t.Errorf("incident = %+v", i)
		}
		if i.Analysis == nil || i.Analysis.Class != "busy_loop" || i.Analysis.Confidence != 0.8 {
			t.Errorf("analysis = %+v", i.Analysis)
		}
	}
	if want := []string{"trigger", "update", "resolve"}; !equal(actions, want) {
		t.Errorf("actions = %v, want %v", actions, want)
	}
}

func TestWebhookDeliversEachIncidentOnceThroughFaults(t *testing.T) {
	alerttest.RunFaults(t, alerttest.FaultCase{
		Factory: NewFactory(),
		Configure: func(c component.Config, url string) (*confighttp.ClientConfig, *configretry.BackOffConfig) {
			cfg := c.(*Config)
			cfg.URL = configopaqueString(url)
			cfg.Secret = "k"
			return &cfg.ClientConfig, &cfg.RetryConfig
		},
		Path:     "/hook",
		OKStatus: http.StatusNoContent,
		Parse: func(t *testing.T, req alerttest.Request) (string, string) {
			d := parse(t, req, "k")
			return d.Incident.ID, d.Action
		},
	})
}

func TestSignatureIsHMACSHA256OfTimestampDotBody(t *testing.T) {
	// echo -n '1700000000.{}' | openssl dgst -sha256 -hmac k
	if got := Sign([]byte("k"), "1700000000", []byte("{}")); got != "sha256=c6ef4734033cee2367414a0939385eca0397754aa7a59716da7463a9298b5146" {
		t.Errorf("signature = %q", got)
	}
}

func headerPair(k, v string) configopaque.Pair {
	return configopaque.Pair{Name: k, Value: configopaque.String(v)}
}

func configopaqueString(s string) configopaque.String { return configopaque.String(s) }

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
