// Package examples holds the tests of the ready-to-run stacks and packages:
// the Grafana stack (compose file, collector config, dashboard), the
// Kubernetes manifests, the Dockerfile, the systemd unit and the .deb/.rpm
// packages. No container engine, cluster or Grafana runs where these tests
// do, so every file is strictly decoded into the types of the software that
// reads it and checked for the properties the READMEs promise; the
// collector configs go through the real binary's `validate`.
package examples

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/yaml"
)

// repoRoot is the repository's root, the parent of this module.
const repoRoot = ".."

// require fails the test in CI (CI set) and skips it elsewhere when a
// prerequisite is missing: CI must run every test.
func require(t *testing.T, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("cannot run in CI: %s", what)
	}
	t.Skipf("needs %s", what)
}

var collector struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// collectorBinary builds the distribution once for the whole run, as `make
// build` does, into a directory of its own (bin/ belongs to make).
func collectorBinary(t *testing.T) string {
	t.Helper()
	collector.once.Do(func() {
		dir, err := os.MkdirTemp("", "otelcol-linnix-examples-")
		if err != nil {
			collector.err = err
			return
		}
		collector.path = filepath.Join(dir, "otelcol-linnix")
		cmd := exec.Command("go", "build", "-trimpath", "-o", collector.path, ".")
		cmd.Dir = filepath.Join(repoRoot, "cmd", "otelcol-linnix")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		collector.out, collector.err = cmd.CombinedOutput()
	})
	if collector.err != nil {
		t.Fatalf("building the collector: %v\n%s", collector.err, collector.out)
	}
	return collector.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if collector.path != "" {
		os.RemoveAll(filepath.Dir(collector.path))
	}
	os.Exit(code)
}

// validateConfig runs `otelcol-linnix validate` on a collector config, as a
// user would before starting it.
func validateConfig(t *testing.T, path string, env ...string) {
	t.Helper()
	cmd := exec.Command(collectorBinary(t), "validate", "--config", path)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("otelcol-linnix validate --config %s: %v\n%s", path, err, out)
	}
}

// collectorConfig is the part of a collector config these tests check.
type collectorConfig struct {
	Receivers  map[string]any `json:"receivers"`
	Processors map[string]any `json:"processors"`
	Exporters  map[string]any `json:"exporters"`
	Extensions map[string]any `json:"extensions"`
	Service    struct {
		Extensions []string `json:"extensions"`
		Pipelines  map[string]struct {
			Receivers  []string `json:"receivers"`
			Processors []string `json:"processors"`
			Exporters  []string `json:"exporters"`
		} `json:"pipelines"`
		Telemetry any `json:"telemetry"`
	} `json:"service"`
}

func parseCollectorConfig(t *testing.T, data []byte) collectorConfig {
	t.Helper()
	var c collectorConfig
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		t.Fatalf("collector config: %v", err)
	}
	return c
}

// lookup walks nested maps of a decoded YAML document: lookup(m, "a", "b")
// is m["a"]["b"]; nil when any step is missing.
func lookup(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func readFile(t *testing.T, parts ...string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(parts...))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// portOf returns the port of a "host:port" endpoint or an http(s) URL.
func portOf(endpoint string) string {
	endpoint = strings.TrimPrefix(strings.TrimPrefix(endpoint, "http://"), "https://")
	endpoint, _, _ = strings.Cut(endpoint, "/")
	_, port, _ := strings.Cut(endpoint, ":")
	return port
}
