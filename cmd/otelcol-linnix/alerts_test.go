//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linnix-os/otelcol-linnix/internal/testserver"
)

// The alert exporters in the built collector: a real burner's incident
// reaches a real Alertmanager and resolves, and an alert queued in the
// persistent queue survives a SIGKILL.

// burnerRule fires on a perl process spinning for 3 s.
const burnerRule = `
processors:
  incident:
    default_rules: false
    evaluation_interval: 500ms
    rules:
      - name: burner_spin
        kind: threshold
        metric: linnix.process.cpu.cores
        op: ">="
        value: 0.3
        for: 3s
        severity: critical
        where: 'resource.attributes["process.executable.name"] == "perl"'
        summary: "{{.Exe}} pid {{.PID}} spins"
`

const alertsConfig = `
extensions:
  health_check: {endpoint: "127.0.0.1:%[1]d"}
  file_storage: {directory: "%[2]s"}
receivers:
  ebpfprocess:
    collection_interval: 1s
    top_n: 20
exporters:
  file: {path: "%[3]s"}
  linnix_alertmanager:
    endpoints: ["%[4]s"]
    resolve_timeout: 1m
    labels: {pid: process.pid}
  linnix_webhook:
    url: "%[5]s"
    timeout: 1s
    sending_queue: {storage: file_storage}
    retry_on_failure: {initial_interval: 200ms, max_interval: 1s}
service:
  extensions: [health_check, file_storage]
  pipelines:
    logs: {receivers: [ebpfprocess], processors: [incident], exporters: [file, linnix_alertmanager, linnix_webhook]}
    metrics: {receivers: [ebpfprocess], processors: [incident], exporters: [file]}
  telemetry:
    metrics:
      readers: [{pull: {exporter: {prometheus: {host: 127.0.0.1, port: %[6]d}}}}]
` + burnerRule

// alertmanagerFor runs Debian's prometheus-alertmanager on loopback (no
// cluster, temporary storage), routing every alert to receiver.
func alertmanagerFor(t *testing.T, receiver string) string {
	return testserver.Alertmanager(t, fmt.Sprintf(`
route: {receiver: test, group_by: [incident_id], group_wait: 100ms, group_interval: 500ms, repeat_interval: 1h}
receivers:
  - name: test
    webhook_configs: [{url: "%s", send_resolved: true}]
`, receiver)).URL
}

// sink records the bodies POSTed to it.
type sink struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.bodies = append(s.bodies, b)
	s.mu.Unlock()
}

func (s *sink) count(substrings ...string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
outer:
	for _, b := range s.bodies {
		for _, sub := range substrings {
			if !bytes.Contains(b, []byte(sub)) {
				continue outer
			}
		}
		n++
	}
	return n
}

// serve runs h on addr ("" for any loopback port) and returns its URL.
func serve(t *testing.T, addr string, h http.Handler) string {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + l.Addr().String()
}

func startBurner(t *testing.T) *exec.Cmd {
	b := exec.Command("perl", "-e", "1 while 1")
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Process.Kill(); _ = b.Wait() })
	return b
}

// burnerIncident is the firing burner_spin incident naming pid in the file
// exporter's output.
func burnerIncident(t *testing.T, out string, pid int) map[string]any {
	for _, r := range incidentsIn(t, out, "burner_spin") {
		if r["process.pid"] == int64(pid) && r["incident.state"] == "firing" {
			return r
		}
	}
	return nil
}

type amAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	EndsAt      time.Time         `json:"endsAt"`
}

func amActive(t *testing.T, am, id string) *amAlert {
	var alerts []amAlert
	if err := json.Unmarshal([]byte(httpGet(am+"/api/v2/alerts")), &alerts); err != nil {
		return nil
	}
	for i := range alerts {
		if alerts[i].Labels["incident_id"] == id && alerts[i].EndsAt.After(time.Now()) {
			return &alerts[i]
		}
	}
	return nil
}

func TestBurnerIncidentReachesAlertmanagerAndResolves(t *testing.T) {
	requireRoot(t)
	bin := buildCollector(t)
	notes := &sink{}
	am := alertmanagerFor(t, serve(t, "", notes)+"/am")
	hooks := &sink{}
	hook := serve(t, "", hooks) + "/hook"
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	health := freePort(t)
	startCollector(t, bin, health, "--config", writeConfig(t, "alerts.yaml",
		fmt.Sprintf(alertsConfig, health, dir, out, am, hook, freePort(t))))

	burner := startBurner(t)
	var inc map[string]any
	waitFor(t, 60*time.Second, "burner_spin naming the burner", func() bool { inc = burnerIncident(t, out, burner.Process.Pid); return inc != nil })
	id := inc["incident.id"].(string)

	var got *amAlert
	waitFor(t, 30*time.Second, "the incident active in Alertmanager", func() bool { got = amActive(t, am, id); return got != nil })
	host, _ := os.Hostname()
	for k, v := range map[string]string{"alertname": "burner_spin", "severity": "critical", "pid": strconv.Itoa(burner.Process.Pid)} {
		if got.Labels[k] != v {
			t.Errorf("label %s = %q, want %q (%v)", k, got.Labels[k], v, got.Labels)
		}
	}
	if got.Labels["host"] == "" || !strings.Contains(host, got.Labels["host"]) && !strings.Contains(got.Labels["host"], host) {
		t.Errorf("label host = %q, this host is %q", got.Labels["host"], host)
	}
	if want := fmt.Sprintf("perl pid %d spins", burner.Process.Pid); got.Annotations["summary"] != want || got.Annotations["evidence"] == "" {
		t.Errorf("annotations = %v, want summary %q and evidence", got.Annotations, want)
	}
	waitFor(t, 30*time.Second, "Alertmanager's route delivering the alert", func() bool { return notes.count(id, `"status":"firing"`) > 0 })
	waitFor(t, 30*time.Second, "the webhook's trigger", func() bool { return hooks.count(id, `"action":"trigger"`) > 0 })

	_ = burner.Process.Kill()
	_ = burner.Wait()
	waitFor(t, 60*time.Second, "the incident gone from Alertmanager", func() bool { return amActive(t, am, id) == nil })
	waitFor(t, 30*time.Second, "Alertmanager's route delivering the resolve", func() bool { return notes.count(id, `"status":"resolved"`) > 0 })
	waitFor(t, 30*time.Second, "the webhook's resolve", func() bool { return hooks.count(id, `"action":"resolve"`) > 0 })
	if n := hooks.count(id, `"action":"trigger"`); n != 1 {
		t.Errorf("webhook got %d triggers of %s, want 1", n, id)
	}
}

func TestQueuedAlertSurvivesSIGKILL(t *testing.T) {
	requireRoot(t)
	bin := buildCollector(t)
	notes := &sink{}
	am := alertmanagerFor(t, serve(t, "", notes)+"/am")
	hookAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t)) // nothing listens yet: connection refused
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	health, telemetry := freePort(t), freePort(t)
	config := writeConfig(t, "alerts.yaml", fmt.Sprintf(alertsConfig, health, dir, out, am, "http://"+hookAddr+"/hook", telemetry))
	c := startCollector(t, bin, health, "--config", config)

	burner := startBurner(t)
	var inc map[string]any
	waitFor(t, 60*time.Second, "burner_spin naming the burner", func() bool { inc = burnerIncident(t, out, burner.Process.Pid); return inc != nil })
	id := inc["incident.id"].(string)
	metrics := fmt.Sprintf("http://127.0.0.1:%d/metrics", telemetry)
	defer func() {
		if t.Failed() {
			t.Logf("telemetry:\n%s", httpGet(metrics))
		}
	}()
	// Queued persistently: the webhook exporter's consumer read the
	// incident's request from the file_storage queue (a request is written
	// to storage before Offer returns, and a request being dispatched stays
	// there until it is done) and failed to deliver it. Only an incident
	// record is ever attempted (the others are skipped), and the burner's
	// is the only incident here. exporterhelper's own send_failed counter
	// never moves while retry_on_failure retries without end, and
	// queue_size does not say which records are queued.
	waitFor(t, 30*time.Second, "a refused webhook delivery on the telemetry endpoint", func() bool {
		v, _ := metricValue(httpGet(metrics), "otelcol_linnix_exporter_alerts_failed",
			map[string]string{"exporter": "linnix_webhook", "reason": "connection"})
		return v > 0
	})
	_ = c.cmd.Process.Kill() // SIGKILL: no shutdown, no flush
	<-c.exited
	_ = burner.Process.Kill()
	_ = burner.Wait()

	hooks := &sink{}
	serve(t, hookAddr, hooks)
	startCollector(t, bin, health, "--config", config)
	waitFor(t, 60*time.Second, "the queued trigger delivered after the restart", func() bool { return hooks.count(id, `"action":"trigger"`) > 0 })
	// Let the rest of the replayed backlog drain (a duplicate would be in
	// it) before counting.
	waitFor(t, 60*time.Second, "the webhook's queue drained", func() bool {
		v, ok := metricValue(httpGet(metrics), "otelcol_exporter_queue_size", map[string]string{"exporter": "linnix_webhook"})
		return ok && v == 0
	})
	time.Sleep(time.Second)
	n := hooks.count(id, `"action":"trigger"`)
	t.Logf("trigger of %s delivered %d time(s) after the restart", id, n)
	if n != 1 {
		t.Errorf("trigger of %s delivered %d times, want once", id, n)
	}
}

// metricValue is the sum of the points of a Prometheus exposition whose
// name is name (with or without a _total suffix: the collector's endpoint
// adds none today) and whose labels include labels; ok is false when no
// point matched.
func metricValue(exposition, name string, labels map[string]string) (sum float64, ok bool) {
	for _, line := range strings.Split(exposition, "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		rest, found := strings.CutPrefix(line, name)
		if !found {
			continue
		}
		rest = strings.TrimPrefix(rest, "_total")
		var set string
		if strings.HasPrefix(rest, "{") {
			end := strings.LastIndex(rest, "}")
			if end < 0 {
				continue
			}
			set, rest = rest[1:end], rest[end+1:]
		}
		if !strings.HasPrefix(rest, " ") {
			continue // another metric sharing the prefix
		}
		match := true
		for k, v := range labels {
			if !strings.Contains(","+set+",", fmt.Sprintf(",%s=%q,", k, v)) {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		fields := strings.Fields(rest)
		if v, err := strconv.ParseFloat(fields[0], 64); err == nil {
			sum, ok = sum+v, true
		}
	}
	return sum, ok
}

func TestAlertsExampleValidatesAndBadAlertConfigsNameTheField(t *testing.T) {
	bin := buildCollector(t)
	env := append(os.Environ(), "ALERTMANAGER_URL=http://127.0.0.1:9093", "PAGERDUTY_ROUTING_KEY=k",
		"SLACK_WEBHOOK_URL=https://hooks.slack.com/services/T0/B0/x", "WEBHOOK_URL=https://ops.example.com/linnix", "WEBHOOK_SECRET=s")
	validate := func(overrides ...string) (string, error) {
		args := []string{"validate", "--config", "../../examples/alerts.yaml"}
		for _, o := range overrides {
			args = append(args, "--config", o)
		}
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := validate(); err != nil {
		t.Fatalf("examples/alerts.yaml: %v\n%s", err, out)
	}
	for override, want := range map[string]string{
		`yaml:exporters::linnix_webhook::url: ""`:                             "url: required",
		"yaml:exporters::linnix_pagerduty::min_severity: urgent":              `min_severity: unknown severity`,
		`yaml:exporters::linnix_slack::templates::text: "{{.Hostname}}"`:      "templates::text:",
		"yaml:exporters::linnix_alertmanager::endpoints: []":                  "endpoints: required",
		"yaml:exporters::linnix_pagerduty::severity_map::critical: emergency": `severity_map::critical: unknown PagerDuty severity`,
	} {
		out, err := validate(override)
		if err == nil || !strings.Contains(out, want) {
			t.Errorf("%s: validate said %v, want %q in:\n%s", override, err, want, out)
		}
	}
}
