//go:build linux

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/linnix-os/otelcol-linnix/internal/testserver"
)

// A real Prometheus (Debian's 2.42) scrapes the collector's prometheus
// exporter and its own telemetry, and receives the same process metrics by
// remote write; the values it stores agree with /proc.

const dashboardPath = "../../examples/grafana-stack/grafana/dashboards/linnix.json"

// promCollectorConfig: ebpfprocess every second to the prometheus exporter
// (labels as in examples/default.yaml) and to prometheus_remote_write, whose
// copies carry the external label exported_by="remote_write".
const promCollectorConfig = `
extensions:
  health_check: {endpoint: "127.0.0.1:%[1]d"}
receivers:
  ebpfprocess:
    collection_interval: 1s
    top_n: 0
processors:
  incident: {default_rules: true}
  batch: {timeout: 1s}
exporters:
  file: {path: "%[2]s"}
  prometheus:
    endpoint: "127.0.0.1:%[3]d"
    resource_constant_labels:
      included: [host.name, process.pid, process.parent_pid, process.executable.name, process.command, process.owner, container.id]
  prometheus_remote_write:
    endpoint: "%[4]s/api/v1/write"
    external_labels: {exported_by: remote_write}
    resource_to_telemetry_conversion: {enabled: true}
service:
  extensions: [health_check]
  pipelines:
    logs: {receivers: [ebpfprocess], processors: [incident, batch], exporters: [file]}
    metrics: {receivers: [ebpfprocess], processors: [incident, batch], exporters: [prometheus, prometheus_remote_write]}
  telemetry:
    metrics:
      level: normal
      readers: [{pull: {exporter: {prometheus: {host: 127.0.0.1, port: %[5]d}}}}]
`

// prometheusConfig scrapes the process metrics (job linnix) and the
// collector's own telemetry (job otelcol) every 3 s, each scrape allowed
// all of it: a whole host's processes can take seconds to serve on a
// loaded CI machine, and a scrape that times out stores nothing.
const prometheusConfig = `
global: {scrape_interval: 3s, scrape_timeout: 3s}
scrape_configs:
  - job_name: linnix
    static_configs: [{targets: ["127.0.0.1:%d"]}]
  - job_name: otelcol
    static_configs: [{targets: ["127.0.0.1:%d"]}]
`

func TestPrometheusStoresTheProcessMetrics(t *testing.T) {
	requireRoot(t)
	bin := buildCollector(t)
	health, promPort, telemetry := freePort(t), freePort(t), freePort(t)
	prom := testserver.Prometheus(t, fmt.Sprintf(prometheusConfig, promPort, telemetry))
	began := time.Now()
	startCollector(t, bin, health, "--config", writeConfig(t, "collector.yaml",
		fmt.Sprintf(promCollectorConfig, health, os.DevNull, promPort, prom.URL, telemetry)))

	// A known child: 64 MiB resident, 1.5 s of CPU, then asleep, so that
	// its memory and CPU time hold still while they are compared.
	marker := fmt.Sprintf("linnix-prom-%d", time.Now().UnixNano())
	child := exec.Command("perl", "-e", `my $x = "a" x (64 << 20); my $end = 1.5; while (1) { my @t = times; last if $t[0] + $t[1] >= $end } $| = 1; print "spun\n"; sleep 600`, marker)
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	if line, _ := bufio.NewReader(stdout).ReadString('\n'); line != "spun\n" {
		t.Fatalf("child said %q", line)
	}
	pid := child.Process.Pid
	rss, cpu := procStatusBytes(t, pid, "VmRSS"), procCPUSeconds(t, pid)
	host, _ := os.Hostname()

	for _, copy := range []struct{ name, selector string }{
		{"scraped", fmt.Sprintf(`job="linnix",process_pid="%d"`, pid)},
		{"remote-written", fmt.Sprintf(`exported_by="remote_write",process_pid="%d"`, pid)},
	} {
		t.Run(copy.name, func(t *testing.T) {
			var mem, cpuTime []promSample
			waitFor(t, 60*time.Second, copy.name+" series of the child agreeing with /proc", func() bool {
				mem = promQuery(t, prom.URL, "process_memory_usage_bytes{"+copy.selector+"}")
				cpuTime = promQuery(t, prom.URL, "process_cpu_time_seconds_total{"+copy.selector+"}")
				if len(mem) != 1 || len(cpuTime) != 2 { // cpu.mode user and system
					return false
				}
				// A sample taken before the spin ended is older than the
				// truth; wait for a current one.
				return math.Abs(cpuTime[0].value+cpuTime[1].value-cpu) <= 0.1
			})
			if math.Abs(mem[0].value-rss) > 0.05*rss {
				t.Errorf("memory usage %v, /proc VmRSS %v", mem[0].value, rss)
			}
			want := map[string]string{
				"process_pid":             strconv.Itoa(pid),
				"process_parent_pid":      strconv.Itoa(os.Getpid()),
				"process_executable_name": "perl",
				"process_command":         "perl",
				"process_owner":           "root",
				"host_name":               host,
			}
			for k, v := range want {
				if mem[0].labels[k] != v {
					t.Errorf("label %s = %q, want %q (series %v)", k, mem[0].labels[k], v, mem[0].labels)
				}
			}
			modes := []string{cpuTime[0].labels["cpu_mode"], cpuTime[1].labels["cpu_mode"]}
			sort.Strings(modes)
			if !slices.Equal(modes, []string{"system", "user"}) {
				t.Errorf("cpu_mode labels = %v", modes)
			}
			t.Logf("%s: memory %v (VmRSS %v), cpu %v s (/proc %v s), labels %v",
				copy.name, mem[0].value, rss, cpuTime[0].value+cpuTime[1].value, cpu, mem[0].labels)
		})
	}
	t.Logf("both copies in Prometheus %v after start", time.Since(began).Round(time.Second))

	t.Run("promtool check metrics", func(t *testing.T) {
		promtool := testserver.Promtool(t)
		// The process metrics: only the two semantic-convention names that
		// end in _count without being histograms (docs/monitoring.md).
		want := []string{
			`process_thread_count non-histogram and non-summary metrics should not have "_count" suffix`,
			`system_process_count non-histogram and non-summary metrics should not have "_count" suffix`,
		}
		if got := promtoolFindings(t, promtool, httpGet(fmt.Sprintf("http://127.0.0.1:%d/metrics", promPort))); !slices.Equal(got, want) {
			t.Errorf("promtool check metrics on the process metrics:\n got %q\nwant %q", got, want)
		}
		// The collector names its own counters without _total (its
		// telemetry's default translation); that is the only finding
		// (docs/monitoring.md).
		body := httpGet(fmt.Sprintf("http://127.0.0.1:%d/metrics", telemetry))
		want = nil
		for _, c := range countersWithoutTotal(body) {
			want = append(want, c+` counter metrics should have "_total" suffix`)
		}
		if got := promtoolFindings(t, promtool, body); !slices.Equal(got, want) {
			t.Errorf("promtool check metrics on the collector's telemetry:\n got %q\nwant %q", got, want)
		}
		if !slices.Contains(want, "otelcol_linnix_receiver_events_lost "+`counter metrics should have "_total" suffix`) {
			t.Errorf("the lost-event counter is not on the telemetry endpoint:\n%s", body)
		}
	})

	t.Run("every metric of the dashboard is stored", func(t *testing.T) {
		names := dashboardMetrics(t, dashboardPath)
		var missing []string
		waitFor(t, 30*time.Second, "the dashboard's metrics in Prometheus", func() bool {
			stored := promNames(t, prom.URL)
			missing = missing[:0]
			for _, n := range names {
				if !slices.Contains(stored, n) {
					missing = append(missing, n)
				}
			}
			return len(missing) == 0
		})
		t.Logf("the dashboard's %d metrics are stored: %v", len(names), names)
	})
	t.Run("remote write loses no point", func(t *testing.T) {
		// Prometheus refuses a whole batch for one sample that goes back
		// in time (a process sampled while exiting, then reported again
		// at its earlier exit time): the exporter counts what it dropped.
		body := httpGet(fmt.Sprintf("http://127.0.0.1:%d/metrics", telemetry))
		for _, line := range strings.Split(body, "\n") {
			if strings.HasPrefix(line, "otelcol_exporter_send_failed_metric_points") &&
				strings.Contains(line, `exporter="prometheus_remote_write"`) && !strings.HasSuffix(line, " 0") {
				t.Errorf("remote write dropped points: %s", line)
			}
		}
	})
	t.Logf("stored metric names: %v", promNames(t, prom.URL))
}

type promSample struct {
	labels map[string]string
	value  float64
}

// promQuery runs an instant query and returns its vector.
func promQuery(t *testing.T, base, query string) []promSample {
	t.Helper()
	var resp struct {
		Status string
		Data   struct {
			Result []struct {
				Metric map[string]string
				Value  [2]any
			}
		}
	}
	body := httpGet(base + "/api/v1/query?query=" + url.QueryEscape(query))
	if err := json.Unmarshal([]byte(body), &resp); err != nil || resp.Status != "success" {
		t.Fatalf("query %s: %v: %s", query, err, body)
	}
	var out []promSample
	for _, r := range resp.Data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("query %s: value %v", query, r.Value)
		}
		out = append(out, promSample{labels: r.Metric, value: v})
	}
	sort.Slice(out, func(i, j int) bool { return fmt.Sprint(out[i].labels) < fmt.Sprint(out[j].labels) })
	return out
}

// promNames lists every metric name Prometheus has stored.
func promNames(t *testing.T, base string) []string {
	t.Helper()
	var resp struct {
		Status string
		Data   []string
	}
	body := httpGet(base + "/api/v1/label/__name__/values")
	if err := json.Unmarshal([]byte(body), &resp); err != nil || resp.Status != "success" {
		t.Fatalf("metric names: %v: %s", err, body)
	}
	return resp.Data
}

// promtoolFindings runs `promtool check metrics` on an exposition and
// returns its findings, sorted; none when the exposition is clean.
func promtoolFindings(t *testing.T, promtool, body string) []string {
	t.Helper()
	if body == "" {
		t.Fatal("no exposition to check")
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	out, err := cmd.CombinedOutput()
	var findings []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line != "" {
			findings = append(findings, line)
		}
	}
	if err != nil && len(findings) == 0 {
		t.Fatalf("promtool: %v", err)
	}
	sort.Strings(findings)
	return findings
}

// grafanaVariable is a dashboard variable ($host, ${host}, $__rate_interval).
var grafanaVariable = regexp.MustCompile(`\$\{?\w+(:\w+)?\}?`)

// dashboardMetrics returns the metric names of every PromQL expression of
// a Grafana dashboard, sorted; Loki (LogQL) targets are skipped.
func dashboardMetrics(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the dashboard: %v", err)
	}
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	p := parser.NewParser(parser.Options{})
	names := map[string]bool{}
	var walk func(v any, loki bool)
	walk = func(v any, loki bool) {
		switch v := v.(type) {
		case map[string]any:
			loki = loki || isLoki(v["datasource"])
			if expr, ok := v["expr"].(string); ok && !loki && expr != "" {
				// A variable is a duration in brackets and a value elsewhere.
				e := strings.NewReplacer("[$__rate_interval]", "[1m]", "[$__interval]", "[1m]", "[$__range]", "[1m]").Replace(expr)
				e = grafanaVariable.ReplaceAllString(e, "x")
				ast, err := p.ParseExpr(e)
				if err != nil {
					t.Errorf("dashboard expression %q: %v", expr, err)
					return
				}
				parser.Inspect(ast, func(n parser.Node, _ []parser.Node) error {
					if vs, ok := n.(*parser.VectorSelector); ok && vs.Name != "" {
						names[vs.Name] = true
					}
					return nil
				})
			}
			for _, c := range v {
				walk(c, loki)
			}
		case []any:
			for _, c := range v {
				walk(c, loki)
			}
		}
	}
	walk(doc, false)
	if len(names) == 0 {
		t.Fatalf("no PromQL metric in %s", path)
	}
	var out []string
	for n := range names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// isLoki: a datasource given as {type: loki} or by a name or uid that says
// Loki.
func isLoki(ds any) bool {
	switch ds := ds.(type) {
	case string:
		return strings.Contains(strings.ToLower(ds), "loki")
	case map[string]any:
		for _, k := range []string{"type", "uid"} {
			if s, ok := ds[k].(string); ok && strings.Contains(strings.ToLower(s), "loki") {
				return true
			}
		}
	}
	return false
}

// countersWithoutTotal lists, sorted, the counters of an exposition whose
// name lacks the _total suffix.
func countersWithoutTotal(exposition string) []string {
	var out []string
	for _, line := range strings.Split(exposition, "\n") {
		f := strings.Fields(line)
		if len(f) == 4 && f[0] == "#" && f[1] == "TYPE" && f[3] == "counter" && !strings.HasSuffix(f[2], "_total") {
			out = append(out, f[2])
		}
	}
	sort.Strings(out)
	return out
}
