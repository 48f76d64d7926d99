package linnixalertmanagerexporter

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
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
	key := "linnix_alertmanager"
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
	if cfg, err := load(t, ""); err != nil || cfg.ResolveTimeout != 5*time.Minute || cfg.repostInterval() != 150*time.Second {
		t.Errorf("defaults: %v %+v", err, cfg)
	}
	if cfg, err := load(t, "ha"); err != nil || len(cfg.Endpoints) != 2 || cfg.Labels["exe"] != contract.ProcessExecutableName ||
		cfg.StaticLabels["env"] != "prod" || cfg.repostInterval() != 20*time.Second {
		t.Errorf("ha: %v %+v", err, cfg)
	}
	_, err := load(t, "no_endpoint")
	if err == nil || !strings.Contains(err.Error(), "endpoints: required") {
		t.Errorf("no_endpoint: %v", err)
	}
	_, err = load(t, "bad")
	for _, want := range []string{`endpoints::0: must be an http:// or https:// URL, got "am-1:9093"`,
		"repost_interval: must be positive and below resolve_timeout", "labels::process.pid: not a valid Alertmanager label name",
		"labels::severity: reserved"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("bad: err = %v, want %q", err, want)
		}
	}
}

// alertmanagerBin installs Debian's prometheus-alertmanager when missing;
// it never skips: in CI a missing server is a failure.
func alertmanagerBin(t *testing.T) string {
	const bin = "/usr/bin/prometheus-alertmanager"
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	install := func() error {
		cmd := exec.Command("apt-get", "install", "-y", "-qq", "prometheus-alertmanager")
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	}
	if err := install(); err != nil {
		_ = exec.Command("apt-get", "update", "-qq").Run()
		if err := install(); err != nil {
			t.Fatalf("prometheus-alertmanager is needed (make deps installs it): %v", err)
		}
	}
	return bin
}

// notifications is the test's webhook receiver behind Alertmanager's route.
type notifications struct {
	mu  sync.Mutex
	got []amNotification
}

type amNotification struct {
	Status string `json:"status"`
	Alerts []struct {
		Status string            `json:"status"`
		Labels map[string]string `json:"labels"`
	} `json:"alerts"`
}

func (n *notifications) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var m amNotification
	if err := json.NewDecoder(r.Body).Decode(&m); err == nil {
		n.mu.Lock()
		n.got = append(n.got, m)
		n.mu.Unlock()
	}
}

// has says whether a notification with status named incident id.
func (n *notifications) has(id, status string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, m := range n.got {
		for _, a := range m.Alerts {
			if a.Labels["incident_id"] == id && a.Status == status {
				return true
			}
		}
	}
	return false
}

// startAlertmanager runs a real Alertmanager on loopback with temporary
// storage, no clustering, and a route to receiverURL; it returns its URL.
func startAlertmanager(t *testing.T, resolveTimeout time.Duration, receiverURL string) string {
	bin := alertmanagerBin(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(conf, fmt.Appendf(nil, `
global:
  resolve_timeout: %s
route:
  receiver: test
  group_by: [incident_id]
  group_wait: 100ms
  group_interval: 500ms
  repeat_interval: 1h
receivers:
  - name: test
    webhook_configs:
      - url: %s
        send_resolved: true
`, resolveTimeout, receiverURL), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := alerttest.FreeAddr(t)
	cmd := exec.Command(bin, "--config.file="+conf, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--cluster.listen-address=", "--log.level=warn")
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("alertmanager output:\n%s", out.String())
		}
	})
	url := "http://" + addr
	alerttest.WaitFor(t, 20*time.Second, "alertmanager ready", func() bool {
		resp, err := http.Get(url + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return url
}

type gettableAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      time.Time         `json:"endsAt"`
	Status      struct {
		State string `json:"state"`
	} `json:"status"`
}

// activeAlert is the alert of incident id in Alertmanager, or nil.
func activeAlert(t *testing.T, amURL, id string) *gettableAlert {
	resp, err := http.Get(amURL + "/api/v2/alerts")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var alerts []gettableAlert
	if err := json.Unmarshal(body, &alerts); err != nil {
		t.Fatalf("GET /api/v2/alerts: %v: %s", err, body)
	}
	for i := range alerts {
		if alerts[i].Labels["incident_id"] == id && alerts[i].EndsAt.After(time.Now()) {
			return &alerts[i]
		}
	}
	return nil
}

func receiver(t *testing.T) (*notifications, string) {
	n := &notifications{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: n, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return n, "http://" + l.Addr().String() + "/am"
}

// start starts an exporter; stop shuts it down (once, at the latest in
// cleanup).
func start(t *testing.T, cfg *Config) (exp exporter.Logs, stop func() error) {
	exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(NewFactory().Type()), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err = exp.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	var err2 error
	stop = func() error { once.Do(func() { err2 = exp.Shutdown(context.Background()) }); return err2 }
	t.Cleanup(func() { _ = stop() })
	return exp, stop
}

// now is an incident that starts now (Alertmanager ignores alerts whose
// endsAt is long past).
func now(id string) alerttest.Incident {
	inc := alerttest.Firing(id, contract.SeverityCritical)
	inc.Started, inc.At = time.Now().Add(-time.Second), time.Now()
	inc.Analysis = true
	return inc
}

func TestAlertmanagerHAPairGetsTheAlertWithLabelsAndAnnotationsAndItResolves(t *testing.T) {
	notes, recv := receiver(t)
	am1, am2 := startAlertmanager(t, 5*time.Minute, recv), startAlertmanager(t, 5*time.Minute, recv)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.Endpoints = []string{am1, am2}
	cfg.Labels = map[string]string{"exe": contract.ProcessExecutableName}
	cfg.StaticLabels = map[string]string{"env": "test"}
	exp, _ := start(t, cfg)

	inc := now("047e83a903603901")
	if err := exp.ConsumeLogs(context.Background(), alerttest.Logs(inc)); err != nil {
		t.Fatal(err)
	}
	for _, am := range []string{am1, am2} {
		var got *gettableAlert
		alerttest.WaitFor(t, 10*time.Second, "the alert in "+am, func() bool { got = activeAlert(t, am, inc.ID); return got != nil })
		for k, v := range map[string]string{"alertname": "cpu_spin", "severity": "critical", "host": "web-3",
			"incident_id": inc.ID, "exe": "java", "env": "test"} {
			if got.Labels[k] != v {
				t.Errorf("%s: label %s = %q, want %q (labels %v)", am, k, got.Labels[k], v, got.Labels)
			}
		}
		for k, want := range map[string]string{"summary": "java pid 4412 sustained 97% CPU for 3m", "evidence": `"value":0.97`,
			"actions": "top -H -p 4412\nProfile it", "analysis": "busy_loop (confidence 0.80): java spins"} {
			if !strings.Contains(got.Annotations[k], want) {
				t.Errorf("%s: annotation %s = %q, want it to contain %q", am, k, got.Annotations[k], want)
			}
		}
	}
	alerttest.WaitFor(t, 10*time.Second, "Alertmanager's route delivering the alert", func() bool { return notes.has(inc.ID, "firing") })

	resolved := inc.Resolved()
	resolved.At = time.Now()
	if err := exp.ConsumeLogs(context.Background(), alerttest.Logs(resolved)); err != nil {
		t.Fatal(err)
	}
	for _, am := range []string{am1, am2} {
		alerttest.WaitFor(t, 10*time.Second, "the alert gone from "+am, func() bool { return activeAlert(t, am, inc.ID) == nil })
	}
	alerttest.WaitFor(t, 10*time.Second, "Alertmanager's route delivering the resolve", func() bool { return notes.has(inc.ID, "resolved") })
}

func TestAlertmanagerKeepsAFiringIncidentActiveBeyondResolveTimeout(t *testing.T) {
	_, recv := receiver(t)
	const resolveTimeout = 2 * time.Second
	am := startAlertmanager(t, resolveTimeout, recv)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.Endpoints = []string{am}
	cfg.ResolveTimeout = resolveTimeout
	exp, stop := start(t, cfg)

	inc := now("1111111111111111")
	if err := exp.ConsumeLogs(context.Background(), alerttest.Logs(inc)); err != nil {
		t.Fatal(err)
	}
	alerttest.WaitFor(t, 10*time.Second, "the alert", func() bool { return activeAlert(t, am, inc.ID) != nil })
	// Three resolve_timeouts without a record: the re-posts keep it.
	deadline := time.Now().Add(3 * resolveTimeout)
	for time.Now().Before(deadline) {
		if activeAlert(t, am, inc.ID) == nil {
			t.Fatalf("the alert expired while the incident was firing")
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Control: a firing alert nobody re-posts expires on its own.
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	alerttest.WaitFor(t, 4*resolveTimeout, "the alert to expire once nothing re-posts it", func() bool { return activeAlert(t, am, inc.ID) == nil })
}
