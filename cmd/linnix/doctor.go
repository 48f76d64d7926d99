package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/linnix-os/otelcol-linnix/internal/insightsapi"
)

// status of one doctor check.
type status int

const (
	statusOK status = iota
	statusWarn
	statusFail
)

// check is one line of `linnix doctor`: what was checked, what was found
// and, unless it is fine, what to do.
type check struct {
	name   string
	status status
	detail string
	fix    string
}

const setcapCaps = "cap_bpf,cap_perfmon+ep"

func newDoctorCommand(o *options) *cobra.Command {
	var collector, config string
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check that this host, a collector binary and a config can run otelcol-linnix",
		Long: `doctor checks the kernel (version, BTF, BPF ring buffers, tp_btf and task
iterator programs), the cgroup mode, the capabilities of this process and of the
collector binary, whether the insights API answers, and with --config the
pipeline placement that 'otelcol-linnix validate' does not check. Each check
prints ok, warn or fail with what to do; the exit code is 1 when one fails.`,
		Example: `  sudo linnix doctor
  linnix doctor --collector /usr/local/bin/otelcol-linnix --config /etc/otelcol-linnix/config.yaml`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			checks := hostChecks()
			checks = append(checks, collectorCheck(collector))
			checks = append(checks, apiCheck(cmd.Context(), o.client()))
			if config != "" {
				checks = append(checks, configChecks(config, o.addr)...)
			}
			fmt.Fprint(o.stdout, formatChecks(checks, o.styles()))
			for _, c := range checks {
				if c.status == statusFail {
					return silentError
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&collector, "collector", "", "the collector binary whose file capabilities to check (default bin/otelcol-linnix, else otelcol-linnix on PATH)")
	cmd.Flags().StringVar(&config, "config", "", "a collector config to check for what 'otelcol-linnix validate' cannot see")
	return cmd
}

func formatChecks(checks []check, s styles) string {
	var b strings.Builder
	width := 18
	for _, c := range checks {
		width = max(width, len(c.name))
	}
	counts := map[status]int{}
	for _, c := range checks {
		counts[c.status]++
		label := map[status]string{statusOK: s.ok.Render("ok  "), statusWarn: s.warn.Render("warn"), statusFail: s.fail.Render("fail")}[c.status]
		fmt.Fprintf(&b, "%s  %-*s %s\n", label, width, c.name, c.detail)
		if c.fix != "" && c.status != statusOK {
			for _, l := range strings.Split(c.fix, "\n") {
				fmt.Fprintf(&b, "      %-*s %s\n", width, "", s.dim.Render("→ "+l))
			}
		}
	}
	fmt.Fprintf(&b, "\n%d checks: %d ok, %d warnings, %d failures\n", len(checks), counts[statusOK], counts[statusWarn], counts[statusFail])
	return b.String()
}

// apiCheck says whether the insights API answers, and where.
func apiCheck(ctx context.Context, c *apiClient) check {
	st, err := c.Stats(ctx)
	var ue *unreachableError
	var ae *authError
	switch {
	case errors.As(err, &ue):
		return check{name: "insights API", status: statusWarn, detail: fmt.Sprintf("nothing answers at %s (%v)", c.base(), ue.err),
			fix: "start the collector with the linnix_insights exporter (exporters: linnix_insights: endpoint: 127.0.0.1:7070; examples/default.yaml enables it),\nor point linnix at it with --addr / LINNIX_ADDR"}
	case errors.As(err, &ae):
		return check{name: "insights API", status: statusFail, detail: fmt.Sprintf("%s answers but refuses the token (401)", c.base()),
			fix: "pass the token of the linnix_insights exporter with --token or LINNIX_TOKEN"}
	case err != nil:
		return check{name: "insights API", status: statusFail, detail: err.Error()}
	}
	return check{name: "insights API", status: statusOK,
		detail: fmt.Sprintf("answers at %s: %d processes, %d incidents firing", c.base(), st.Processes, st.Incidents.Firing)}
}

// defaultCollector is the binary `make build` writes, else the one on PATH.
func defaultCollector() string {
	if _, err := os.Stat("bin/otelcol-linnix"); err == nil {
		return "bin/otelcol-linnix"
	}
	if p, err := exec.LookPath("otelcol-linnix"); err == nil {
		return p
	}
	return ""
}

// collectorConfig is the part of a collector config doctor reads.
type collectorConfig struct {
	Processors map[string]any `yaml:"processors"`
	Exporters  map[string]any `yaml:"exporters"`
	Service    struct {
		Pipelines map[string]struct {
			Receivers  []string `yaml:"receivers"`
			Processors []string `yaml:"processors"`
			Exporters  []string `yaml:"exporters"`
		} `yaml:"pipelines"`
	} `yaml:"service"`
}

// componentType is the type of a component or pipeline ID ("incident" of
// "incident/edge", "logs" of "logs/2").
func componentType(id string) string {
	t, _, _ := strings.Cut(id, "/")
	return strings.TrimSpace(t)
}

// configChecks finds what `otelcol-linnix validate` accepts but the
// components warn about, or that leaves linnix blind: an incident processor
// that no logs pipeline carries (its incidents only reach the collector's
// own log), one in two pipelines of a signal (its shared state counts the
// data twice), and a missing or misplaced linnix_insights exporter.
func configChecks(path, addr string) []check {
	data, err := os.ReadFile(path)
	if err != nil {
		return []check{{name: "config", status: statusFail, detail: err.Error()}}
	}
	var cfg collectorConfig
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		return []check{{name: "config", status: statusFail, detail: fmt.Sprintf("%s is not a collector config: %v", path, err)}}
	}
	if len(cfg.Service.Pipelines) == 0 {
		return []check{{name: "config", status: statusFail, detail: path + " has no service::pipelines",
			fix: "run `otelcol-linnix validate --config " + path + "` for the details"}}
	}

	// Where each of our processors and exporters sits, by signal.
	type placement map[string][]string // signal → pipeline IDs
	placed := func(kind, typ string) map[string]placement {
		out := map[string]placement{}
		for _, pid := range sortedKeys(cfg.Service.Pipelines) {
			p := cfg.Service.Pipelines[pid]
			ids := p.Processors
			if kind == "exporter" {
				ids = p.Exporters
			}
			for _, id := range ids {
				if componentType(id) != typ {
					continue
				}
				if out[id] == nil {
					out[id] = placement{}
				}
				sig := componentType(pid)
				out[id][sig] = append(out[id][sig], pid)
			}
		}
		return out
	}

	var checks []check
	incidents := placed("processor", "incident")
	for _, id := range sortedKeys(cfg.Processors) {
		if componentType(id) == "incident" && incidents[id] == nil {
			checks = append(checks, check{name: "config " + id, status: statusWarn,
				detail: "is configured but in no pipeline, so no rule runs",
				fix:    "add " + id + " to the processors of one logs and one metrics pipeline"})
		}
	}
	for _, id := range sortedKeys(incidents) {
		pl := incidents[id]
		var problems []check
		if len(pl["logs"]) == 0 {
			problems = append(problems, check{name: "config " + id, status: statusFail,
				detail: fmt.Sprintf("is in no logs pipeline (only in %s): it reads no lifecycle records and its incidents go to the collector's own log only", strings.Join(allPipelines(pl), ", ")),
				fix:    "add " + id + " to the processors of the logs pipeline whose receivers include ebpfprocess"})
		}
		for _, sig := range sortedKeys(pl) {
			if len(pl[sig]) > 1 {
				problems = append(problems, check{name: "config " + id, status: statusFail,
					detail: fmt.Sprintf("is in %d %s pipelines (%s): one instance serves them all, so data reaching it by both is counted twice and incidents leave by one of them only", len(pl[sig]), sig, strings.Join(pl[sig], ", ")),
					fix:    fmt.Sprintf("keep %s in one %s pipeline; give another pipeline its own processor (e.g. incident/2) if it needs rules", id, sig)})
			}
		}
		if len(problems) == 0 {
			problems = append(problems, check{name: "config " + id, status: statusOK,
				detail: "in " + strings.Join(allPipelines(pl), ", ")})
		}
		checks = append(checks, problems...)
	}
	if len(incidents) == 0 {
		checks = append(checks, check{name: "config incident", status: statusWarn,
			detail: "no incident processor in any pipeline: no incidents will be raised",
			fix:    "add `processors: incident: {default_rules: true}` to one logs and one metrics pipeline"})
	}

	insights := placed("exporter", "linnix_insights")
	if len(insights) == 0 {
		checks = append(checks, check{name: "config insights", status: statusWarn,
			detail: "no linnix_insights exporter in any pipeline: linnix has nothing to read",
			fix:    "add `exporters: linnix_insights: {endpoint: 127.0.0.1:7070}` to a logs and a metrics pipeline (examples/default.yaml does)"})
	}
	for _, id := range sortedKeys(insights) {
		pl := insights[id]
		var missing []string
		for _, sig := range []string{"logs", "metrics"} {
			if len(pl[sig]) == 0 {
				missing = append(missing, sig)
			}
		}
		c := check{name: "config " + id, status: statusOK, detail: "in " + strings.Join(allPipelines(pl), ", ")}
		if len(missing) > 0 {
			c.status = statusWarn
			c.detail += "; in no " + strings.Join(missing, " or ") + " pipeline: " +
				map[string]string{"logs": "tail and incidents stay empty", "metrics": "top shows no processes", "logs or metrics": "it sees nothing"}[strings.Join(missing, " or ")]
			c.fix = "add " + id + " to the exporters of a logs and a metrics pipeline"
		}
		if ep := insightsEndpoint(cfg.Exporters[id]); strings.TrimPrefix(ep, "http://") != strings.TrimPrefix(addr, "http://") {
			c.detail += "; serves " + ep + ", linnix reads " + addr
			if c.status == statusOK {
				c.status = statusWarn
			}
			if c.fix != "" {
				c.fix += "\n"
			}
			c.fix += "run linnix with --addr " + ep + " (or LINNIX_ADDR=" + ep + ")"
		}
		checks = append(checks, c)
	}
	return checks
}

func allPipelines(pl map[string][]string) []string {
	var out []string
	for _, ids := range pl {
		out = append(out, ids...)
	}
	sort.Strings(out)
	return out
}

// insightsEndpoint is where an insights exporter with these settings
// listens.
func insightsEndpoint(settings any) string {
	m, _ := settings.(map[string]any)
	if ep, _ := m["endpoint"].(string); ep != "" {
		return ep
	}
	return insightsapi.DefaultEndpoint
}
