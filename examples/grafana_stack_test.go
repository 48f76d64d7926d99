package examples

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/loki"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"sigs.k8s.io/yaml"
)

var stackDir = "grafana-stack"

// compose is the subset of the Compose specification the stack uses; strict
// decoding rejects any key outside it (a typo, a key in the wrong place).
type compose struct {
	Name     string                    `json:"name"`
	Services map[string]composeService `json:"services"`
	Volumes  map[string]any            `json:"volumes"`
}

type composeService struct {
	Image       string            `json:"image"`
	Build       *composeBuild     `json:"build"`
	Command     []string          `json:"command"`
	Pid         string            `json:"pid"`
	Cgroup      string            `json:"cgroup"`
	Uts         string            `json:"uts"`
	Privileged  bool              `json:"privileged"`
	CapAdd      []string          `json:"cap_add"`
	CapDrop     []string          `json:"cap_drop"`
	SecurityOpt []string          `json:"security_opt"`
	ReadOnly    bool              `json:"read_only"`
	Volumes     []string          `json:"volumes"`
	Environment map[string]string `json:"environment"`
	Ports       []string          `json:"ports"`
	DependsOn   []string          `json:"depends_on"`
	Restart     string            `json:"restart"`
}

type composeBuild struct {
	Context    string `json:"context"`
	Dockerfile string `json:"dockerfile"`
}

func loadCompose(t *testing.T) compose {
	t.Helper()
	var c compose
	if err := yaml.UnmarshalStrict(readFile(t, stackDir, "docker-compose.yaml"), &c); err != nil {
		t.Fatalf("docker-compose.yaml: %v", err)
	}
	return c
}

// mounts maps a service's container paths to "source:mode" (mode empty
// when read-write); a source may be a ${VAR:-default} substitution.
func mounts(s composeService) map[string]string {
	m := map[string]string{}
	for _, v := range s.Volumes {
		source, rest := "", v
		if strings.HasPrefix(v, "${") {
			end := strings.Index(v, "}")
			source, rest = v[:end+1], strings.TrimPrefix(v[end+1:], ":")
		} else {
			source, rest, _ = strings.Cut(v, ":")
		}
		target, mode, _ := strings.Cut(rest, ":")
		m[target] = source + ":" + mode
	}
	return m
}

func TestComposeRunsTheCollectorWithCapabilitiesNotPrivileged(t *testing.T) {
	c := loadCompose(t)
	col, ok := c.Services["otelcol-linnix"]
	if !ok {
		t.Fatal("no otelcol-linnix service")
	}
	if col.Privileged {
		t.Error("otelcol-linnix is privileged; it needs only its capabilities")
	}
	if col.Pid != "host" || col.Cgroup != "host" {
		t.Errorf("pid %q, cgroup %q: both must be host to see and resolve every process", col.Pid, col.Cgroup)
	}
	want := []string{"BPF", "PERFMON"}
	if got := slices.Sorted(slices.Values(col.CapAdd)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Errorf("cap_add = %v, want exactly %v (the image's file capabilities)", col.CapAdd, want)
	}
	if !slices.Equal(col.CapDrop, []string{"ALL"}) {
		t.Errorf("cap_drop = %v, want [ALL]", col.CapDrop)
	}
	for _, o := range col.SecurityOpt {
		if strings.HasPrefix(o, "no-new-privileges") {
			t.Errorf("security_opt %q blocks the binary's file capabilities", o)
		}
	}
	if !col.ReadOnly {
		t.Error("the collector's root file system is writable")
	}
	m := mounts(col)
	for _, p := range []string{"/sys/kernel/btf", "/sys/fs/cgroup"} {
		if m[p] != p+":ro" {
			t.Errorf("%s mounted as %q, want the host's, read-only", p, m[p])
		}
	}
	if m["/etc/otelcol-linnix/config.yaml"] != "./otelcol-config.yaml:ro" {
		t.Errorf("config mount %q", m["/etc/otelcol-linnix/config.yaml"])
	}
	if col.Build == nil || filepath.Join(stackDir, col.Build.Context) != repoRoot || col.Build.Dockerfile != "Dockerfile" {
		t.Errorf("build %+v does not point at the repository's Dockerfile", col.Build)
	}
}

func TestComposeImagesArePinnedAndReferencesResolve(t *testing.T) {
	c := loadCompose(t)
	for _, name := range []string{"otelcol-linnix", "prometheus", "loki", "grafana", "alertmanager", "llama"} {
		if _, ok := c.Services[name]; !ok {
			t.Errorf("no %s service", name)
		}
	}
	hostPorts := map[string]string{}
	for name, s := range c.Services {
		// The tag follows the last path element (a registry may have a port).
		_, tag, _ := strings.Cut(s.Image[strings.LastIndex(s.Image, "/")+1:], ":")
		if tag == "" || tag == "latest" {
			t.Errorf("%s: image %q is not pinned to a tag", name, s.Image)
		}
		for _, d := range s.DependsOn {
			if _, ok := c.Services[d]; !ok {
				t.Errorf("%s depends on unknown service %s", name, d)
			}
		}
		for src, target := range mounts(s) {
			source, _, _ := strings.Cut(target, ":")
			if strings.HasPrefix(source, "./") {
				if _, err := os.Stat(filepath.Join(stackDir, source)); err != nil {
					t.Errorf("%s mounts %s at %s: %v", name, source, src, err)
				}
			} else if !strings.HasPrefix(source, "/") && !strings.HasPrefix(source, "$") {
				if _, ok := c.Volumes[source]; !ok {
					t.Errorf("%s mounts undeclared volume %s", name, source)
				}
			}
		}
		for _, p := range s.Ports {
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("%s publishes %s beyond loopback", name, p)
			}
			hp := strings.Split(p, ":")[1]
			if other, dup := hostPorts[hp]; dup {
				t.Errorf("host port %s published by %s and %s", hp, other, name)
			}
			hostPorts[hp] = name
		}
	}
	if img := c.Services["llama"].Image; !strings.HasPrefix(img, "ghcr.io/ggml-org/llama.cpp:server") {
		t.Errorf("llama image %q is not llama.cpp's server", img)
	}
	if img := c.Services["loki"].Image; !strings.HasPrefix(img, "grafana/loki:3.") {
		t.Errorf("loki image %q: the OTLP endpoint needs Loki 3", img)
	}
}

func TestStackCollectorConfigSendsEverywhereTheComposeFileServes(t *testing.T) {
	path := filepath.Join(stackDir, "otelcol-config.yaml")
	validateConfig(t, path)
	cfg := parseCollectorConfig(t, readFile(t, path))
	c := loadCompose(t)

	logs, metrics := cfg.Service.Pipelines["logs"], cfg.Service.Pipelines["metrics"]
	for _, e := range []string{"otlp_http/loki", "linnix_alertmanager"} {
		if !contains(logs.Exporters, e) {
			t.Errorf("logs pipeline does not export to %s", e)
		}
	}
	if !contains(metrics.Exporters, "prometheus") {
		t.Error("metrics pipeline does not export to prometheus")
	}
	for _, p := range []map[string][]string{{"logs": logs.Processors}, {"metrics": metrics.Processors}} {
		for name, procs := range p {
			if !contains(procs, "incident") {
				t.Errorf("%s pipeline has no incident processor", name)
			}
		}
	}
	if got := lookup(cfg.Exporters, "otlp_http/loki", "endpoint"); got != "http://loki:3100/otlp" {
		t.Errorf("Loki endpoint %v, want http://loki:3100/otlp", got)
	}
	am, _ := lookup(cfg.Exporters, "linnix_alertmanager", "endpoints").([]any)
	if len(am) != 1 || am[0] != "http://alertmanager:9093" {
		t.Errorf("alertmanager endpoints %v", am)
	}
	if got := lookup(cfg.Processors, "incident", "llm", "endpoint"); got != "http://llama:8080/v1" {
		t.Errorf("llm endpoint %v, want the llama service", got)
	}
	if !slices.Contains(c.Services["llama"].Command, "8080") {
		t.Error("llama's server does not listen on 8080")
	}
	// Loki's label the dashboard selects on.
	attrs, _ := lookup(cfg.Processors, "resource", "attributes").([]any)
	found := false
	for _, a := range attrs {
		if lookup(a, "key") == "service.name" && lookup(a, "value") == "otelcol-linnix" {
			found = true
		}
	}
	if !found || !contains(logs.Processors, "resource") {
		t.Error("logs do not get service.name=otelcol-linnix, which Loki indexes as service_name")
	}

	// Prometheus scrapes the ports the collector serves.
	var prom struct {
		Global        map[string]any `json:"global"`
		ScrapeConfigs []struct {
			JobName       string `json:"job_name"`
			StaticConfigs []struct {
				Targets []string `json:"targets"`
			} `json:"static_configs"`
		} `json:"scrape_configs"`
	}
	if err := yaml.UnmarshalStrict(readFile(t, stackDir, "prometheus.yml"), &prom); err != nil {
		t.Fatalf("prometheus.yml: %v", err)
	}
	var targets []string
	for _, sc := range prom.ScrapeConfigs {
		for _, s := range sc.StaticConfigs {
			targets = append(targets, s.Targets...)
		}
	}
	exporterPort := portOf(lookup(cfg.Exporters, "prometheus", "endpoint").(string))
	telemetryPort := lookup(cfg.Service.Telemetry, "metrics", "readers")
	readers, _ := telemetryPort.([]any)
	if len(readers) == 0 {
		t.Fatal("no telemetry reader")
	}
	tport := lookup(readers[0], "pull", "exporter", "prometheus", "port")
	for _, want := range []string{"otelcol-linnix:" + exporterPort, "otelcol-linnix:" + fmt.Sprint(tport)} {
		if !contains(targets, want) {
			t.Errorf("prometheus.yml does not scrape %s (targets %v)", want, targets)
		}
	}
}

func TestDashboardStrictDecodingRejectsAnUnknownField(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	raw := readFile(t, stackDir, "grafana", "dashboards", "linnix.json")
	bad := strings.Replace(string(raw), `"legendFormat"`, `"legendFormatt"`, 1)
	var d dashboard.Dashboard
	if err := strictErr(d.UnmarshalJSONStrict([]byte(bad))); err == nil || !strings.Contains(err.Error(), "legendFormatt") {
		t.Fatalf("a misspelt query field decoded without error: %v", err)
	}
}

func TestDashboardDecodesStrictlyAndCoversEverySection(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	var d dashboard.Dashboard
	raw := readFile(t, stackDir, "grafana", "dashboards", "linnix.json")
	if err := strictErr(d.UnmarshalJSONStrict(raw)); err != nil {
		t.Fatalf("linnix.json:\n%v", err)
	}
	// The SDK drops a panel that decoded without error (see strictErr), so
	// each panel is decoded again on its own to be inspected.
	var shape struct {
		Panels []json.RawMessage `json:"panels"`
	}
	if err := json.Unmarshal(raw, &shape); err != nil {
		t.Fatal(err)
	}
	d.Panels = nil
	for i, p := range shape.Panels {
		var kind struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(p, &kind); err != nil {
			t.Fatal(err)
		}
		if kind.Type == "row" {
			row := &dashboard.RowPanel{}
			if err := strictErr(row.UnmarshalJSONStrict(p)); err != nil {
				t.Fatalf("panels[%d]: %v", i, err)
			}
			d.Panels = append(d.Panels, dashboard.PanelOrRowPanel{RowPanel: row})
			continue
		}
		panel := &dashboard.Panel{}
		if err := strictErr(panel.UnmarshalJSONStrict(p)); err != nil {
			t.Fatalf("panels[%d]: %v", i, err)
		}
		// Its queries, likewise, by the panel's datasource type.
		var targets struct {
			Targets []json.RawMessage `json:"targets"`
		}
		if err := json.Unmarshal(p, &targets); err != nil {
			t.Fatal(err)
		}
		panel.Targets = nil
		for j, q := range targets.Targets {
			var query variants.Dataquery
			var err error
			dsType := ""
			if panel.Datasource != nil && panel.Datasource.Type != nil {
				dsType = *panel.Datasource.Type
			}
			switch dsType {
			case "prometheus":
				pq := &prometheus.Dataquery{}
				err, query = pq.UnmarshalJSONStrict(q), pq
			case "loki":
				lq := &loki.Dataquery{}
				err, query = lq.UnmarshalJSONStrict(q), lq
			default:
				t.Fatalf("panels[%d] (%s): datasource type %q is neither Prometheus nor Loki", i, *panel.Title, dsType)
			}
			if err := strictErr(err); err != nil {
				t.Fatalf("panels[%d].targets[%d]: %v", i, j, err)
			}
			panel.Targets = append(panel.Targets, query)
		}
		d.Panels = append(d.Panels, dashboard.PanelOrRowPanel{Panel: panel})
	}

	// Datasources Grafana is provisioned with, by uid.
	var ds struct {
		APIVersion  int `json:"apiVersion"`
		Datasources []struct {
			Name      string `json:"name"`
			Type      string `json:"type"`
			UID       string `json:"uid"`
			Access    string `json:"access"`
			URL       string `json:"url"`
			IsDefault bool   `json:"isDefault"`
			Editable  bool   `json:"editable"`
		} `json:"datasources"`
	}
	if err := yaml.UnmarshalStrict(readFile(t, stackDir, "grafana", "provisioning", "datasources", "datasources.yaml"), &ds); err != nil {
		t.Fatalf("datasources.yaml: %v", err)
	}
	provisioned := map[string]string{}
	for _, s := range ds.Datasources {
		provisioned[s.UID] = s.Type
		if host := strings.Split(strings.TrimPrefix(s.URL, "http://"), ":")[0]; loadCompose(t).Services[host].Image == "" {
			t.Errorf("datasource %s points at %s, not a service of the stack", s.Name, s.URL)
		}
	}

	var promExprs, lokiExprs []string
	var rows []string
	panelTypes := map[string]bool{}
	for _, p := range d.Panels {
		if p.RowPanel != nil {
			rows = append(rows, *p.RowPanel.Title)
			continue
		}
		panel := p.Panel
		title := *panel.Title
		panelTypes[panel.Type] = true
		if panel.Datasource == nil || panel.Datasource.Uid == nil || panel.Datasource.Type == nil {
			t.Errorf("panel %q has no datasource", title)
			continue
		}
		if provisioned[*panel.Datasource.Uid] != *panel.Datasource.Type {
			t.Errorf("panel %q uses datasource %s (%s), which is not provisioned", title, *panel.Datasource.Uid, *panel.Datasource.Type)
		}
		if len(panel.Targets) == 0 {
			t.Errorf("panel %q has no query", title)
		}
		for _, q := range panel.Targets {
			switch q := q.(type) {
			case *prometheus.Dataquery:
				promExprs = append(promExprs, q.Expr)
			case *loki.Dataquery:
				lokiExprs = append(lokiExprs, q.Expr)
			}
		}
	}
	for _, r := range []string{"Host overview", "Top processes", "Incidents", "Collector health"} {
		if !contains(rows, r) {
			t.Errorf("no %q row (rows %v)", r, rows)
		}
	}
	for _, typ := range []string{"timeseries", "table", "logs", "stat"} {
		if !panelTypes[typ] {
			t.Errorf("no %s panel", typ)
		}
	}
	all := strings.Join(promExprs, "\n")
	for what, want := range map[string]string{
		"processes by state":      "by (process_state) (system_process_count",
		"forks per second":        "rate(system_process_created_total",
		"execs and exits":         "by (type) (rate(otelcol_linnix_receiver_events[",
		"top processes by CPU":    "linnix_process_cpu_cores",
		"top processes by memory": "process_memory_usage_bytes",
		"lost events by reason":   "by (reason) (rate(otelcol_linnix_receiver_events_lost[",
		"scan duration":           "otelcol_linnix_receiver_scan_duration_bucket",
		"tracked processes":       "otelcol_linnix_receiver_processes_tracked",
		"collector CPU":           "otelcol_process_cpu_seconds",
		"collector RSS":           "otelcol_process_memory_rss",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no %s (%s) in the Prometheus queries", what, want)
		}
	}
	logql := strings.Join(lokiExprs, "\n")
	for what, want := range map[string]string{
		"incident records":        `incident_id != ""`,
		"incident timeline":       "by (incident_rule, incident_severity) (count_over_time(",
		"short-lived processes":   "linnix_process_lifetime < 1",
		"incident table by rule":  "by (incident_rule, incident_severity, process_executable_name)",
		"the collector's service": `service_name="otelcol-linnix"`,
	} {
		if !strings.Contains(logql, want) {
			t.Errorf("no %s (%s) in the Loki queries", what, want)
		}
	}
	for _, e := range lokiExprs {
		if !strings.Contains(e, `{service_name="otelcol-linnix"`) {
			t.Errorf("Loki query %q does not select the collector's stream", e)
		}
	}
}

// strictErr reads the error of the SDK's UnmarshalJSONStrict, which returns
// its list of errors as a non-nil error even when the list is empty (and
// then its callers treat a clean panel as failed and drop it).
func strictErr(err error) error {
	var errs cog.BuildErrors
	if err == nil || errors.As(err, &errs) && len(errs) == 0 {
		return nil
	}
	return err
}
