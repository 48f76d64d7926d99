//go:build linux

package main

import (
	"os"
	"os/exec"
	"slices"
	"testing"

	"gopkg.in/yaml.v3"
)

// Every example that adds something to examples/default.yaml is a
// complete config that keeps all of it: the insights API, the file export
// and the Prometheus endpoint, in the same pipelines.

type exampleConfigFile struct {
	Exporters map[string]any `yaml:"exporters"`
	Service   struct {
		Extensions []string `yaml:"extensions"`
		Pipelines  map[string]struct {
			Receivers  []string `yaml:"receivers"`
			Processors []string `yaml:"processors"`
			Exporters  []string `yaml:"exporters"`
		} `yaml:"pipelines"`
		Telemetry map[string]any `yaml:"telemetry"`
	} `yaml:"service"`
}

func readExample(t *testing.T, name string) exampleConfigFile {
	t.Helper()
	b, err := os.ReadFile("../../examples/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var c exampleConfigFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return c
}

// exampleEnv is what the examples' ${env:...} need to validate.
var exampleEnv = []string{"ALERTMANAGER_URL=http://127.0.0.1:9093", "PAGERDUTY_ROUTING_KEY=k",
	"SLACK_WEBHOOK_URL=https://hooks.slack.com/services/T0/B0/x", "WEBHOOK_URL=https://ops.example.com/linnix", "WEBHOOK_SECRET=s"}

func TestExamplesKeepEverythingDefaultHasAndValidate(t *testing.T) {
	def := readExample(t, "default.yaml")
	for _, e := range []string{"linnix_insights", "file", "prometheus"} {
		if _, ok := def.Exporters[e]; !ok {
			t.Fatalf("default.yaml lacks the %s exporter", e)
		}
	}
	if def.Service.Telemetry == nil {
		t.Fatal("default.yaml does not serve the collector's own metrics, which linnix_insights reads")
	}
	bin := buildCollector(t)
	for _, name := range []string{"default.yaml", "llm.yaml", "alerts.yaml", "loki.yaml"} {
		t.Run(name, func(t *testing.T) {
			ex := readExample(t, name)
			for e, v := range def.Exporters {
				got, ok := ex.Exporters[e]
				if !ok {
					t.Errorf("lacks the %s exporter of default.yaml", e)
				} else if e == "linnix_insights" || e == "file" {
					// Same address and same file: linnix and its docs
					// find them where default.yaml puts them.
					if d, _ := yaml.Marshal(v); string(d) != string(must(yaml.Marshal(got))) {
						t.Errorf("%s differs from default.yaml's:\n%s\nwant:\n%s", e, must(yaml.Marshal(got)), d)
					}
				}
			}
			for name, p := range def.Service.Pipelines {
				q, ok := ex.Service.Pipelines[name]
				if !ok {
					t.Errorf("lacks the %s pipeline", name)
					continue
				}
				for _, r := range p.Receivers {
					if !slices.Contains(q.Receivers, r) {
						t.Errorf("pipeline %s lacks receiver %s", name, r)
					}
				}
				for _, e := range p.Exporters {
					if !slices.Contains(q.Exporters, e) {
						t.Errorf("pipeline %s lacks exporter %s", name, e)
					}
				}
			}
			for _, x := range def.Service.Extensions {
				if !slices.Contains(ex.Service.Extensions, x) {
					t.Errorf("lacks extension %s", x)
				}
			}
			if ex.Service.Telemetry == nil {
				t.Error("lacks the telemetry section (the collector's own metrics endpoint)")
			}
			cmd := exec.Command(bin, "validate", "--config", "../../examples/"+name)
			cmd.Env = append(os.Environ(), exampleEnv...)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("validate: %v\n%s", err, out)
			}
		})
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
