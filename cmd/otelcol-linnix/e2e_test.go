//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
)

// The end-to-end tests build the distribution as users do and drive the
// binary: the shipped example config, the file exporter, and the error an
// unprivileged user gets.

const exampleConfig = "../../examples/default.yaml"

// built is the collector binary, built once for every test of the package.
var built struct {
	once     sync.Once
	dir, bin string
	err      error
}

// buildCollector builds the distribution as users do, once per test run.
func buildCollector(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		// Not t.TempDir: its parent is private to root, and the
		// unprivileged run below must reach the binary.
		if built.dir, built.err = os.MkdirTemp("", "otelcol-linnix-e2e-"); built.err != nil {
			return
		}
		if built.err = os.Chmod(built.dir, 0o755); built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "otelcol-linnix")
		if out, err := exec.Command("go", "build", "-trimpath", "-o", built.bin, ".").CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("end-to-end tests must run as root in CI")
		}
		t.Skip("needs root to load BPF")
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestDistribution(t *testing.T) {
	bin := buildCollector(t)

	t.Run("components lists ebpfprocess", func(t *testing.T) {
		out, err := exec.Command(bin, "components").CombinedOutput()
		if err != nil {
			t.Fatalf("components: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "name: ebpfprocess") {
			t.Errorf("components output lacks ebpfprocess:\n%s", out)
		}
	})

	t.Run("example config validates", func(t *testing.T) {
		out, err := exec.Command(bin, "validate", "--config", exampleConfig).CombinedOutput()
		if err != nil {
			t.Errorf("validate: %v\n%s", err, out)
		}
	})

	t.Run("bad config names the field", func(t *testing.T) {
		out, err := exec.Command(bin, "validate", "--config", exampleConfig,
			"--config", "yaml:receivers::ebpfprocess::command_args: everything").CombinedOutput()
		if err == nil || !strings.Contains(string(out), "command_args: must be one of redact, full, off") {
			t.Errorf("validate accepted a bad command_args or did not name it: %v\n%s", err, out)
		}
	})

	t.Run("bad rule names the rule and field", func(t *testing.T) {
		out, err := exec.Command(bin, "validate", "--config", exampleConfig,
			"--config", "yaml:processors::incident::rules: [{name: spin, kind: thresholdish, summary: x}]").CombinedOutput()
		if err == nil || !strings.Contains(string(out), `rule \"spin\": kind: unknown kind \"thresholdish\"`) && !strings.Contains(string(out), `rule "spin": kind: unknown kind "thresholdish"`) {
			t.Errorf("validate accepted a bad rule or did not name it: %v\n%s", err, out)
		}
	})

	t.Run("a where reading the wrong place names the rule and the path to write", func(t *testing.T) {
		out, err := exec.Command(bin, "validate", "--config", exampleConfig,
			"--config", `yaml:processors::incident::rules: [{name: quiet, kind: rate, event: exec, window: 1m, min_count: 5, summary: x, where: 'resource.attributes["process.executable.name"] == "true"'}]`).CombinedOutput()
		if err == nil || !strings.Contains(string(out), `quiet`) || !strings.Contains(string(out), `write attributes[`) {
			t.Errorf("validate accepted a where on the wrong place or did not say where to read: %v\n%s", err, out)
		}
	})

	t.Run("a partial override of a built-in rule validates; a bad one names the rule", func(t *testing.T) {
		out, err := exec.Command(bin, "validate", "--config", exampleConfig,
			"--config", "yaml:processors::incident::rules: [{name: cpu_spin, for: 10s}]").CombinedOutput()
		if err != nil {
			t.Errorf("validate refused a partial override: %v\n%s", err, out)
		}
		out, err = exec.Command(bin, "validate", "--config", exampleConfig,
			"--config", "yaml:processors::incident::rules: [{name: cpu_spin, for: 3x}]").CombinedOutput()
		if err == nil || !strings.Contains(string(out), "cpu_spin") || !strings.Contains(string(out), "for:") {
			t.Errorf("validate accepted a bad duration or did not name the rule and field: %v\n%s", err, out)
		}
	})

	t.Run("lifecycle records reach the file exporter", func(t *testing.T) {
		requireRoot(t)
		testFileExport(t, bin)
	})

	t.Run("unprivileged run fails clearly", func(t *testing.T) {
		requireRoot(t) // to switch to an unprivileged user
		testUnprivileged(t, bin)
	})
}

func testFileExport(t *testing.T, bin string) {
	dir := t.TempDir()
	out := filepath.Join(dir, "events.jsonl")
	health, prom, telemetry := freePort(t), freePort(t), freePort(t)
	c := startCollector(t, bin, health, "--config", exampleConfig,
		"--config", "yaml:exporters::file::path: "+out,
		"--config", fmt.Sprintf("yaml:extensions::health_check::endpoint: 127.0.0.1:%d", health),
		"--config", fmt.Sprintf("yaml:exporters::prometheus::endpoint: 127.0.0.1:%d", prom),
		"--config", "yaml:receivers::ebpfprocess::collection_interval: 1s",
		"--config", telemetryOn(telemetry),
	)

	marker := fmt.Sprintf("linnix-e2e-%d", time.Now().UnixNano())
	child := exec.Command("/bin/sh", "-c", "exit 3", marker)
	_ = child.Run()
	pid := int64(child.Process.Pid)

	var execRec, exitRec map[string]any
	waitFor(t, 30*time.Second, "exec and exit records in the file", func() bool {
		execRec, exitRec = nil, nil
		for _, r := range readRecords(t, out) {
			if r["process.pid"] != pid {
				continue
			}
			switch r["event"] {
			case "linnix.process.exec":
				execRec = r
			case "linnix.process.exit":
				exitRec = r
			}
		}
		return execRec != nil && exitRec != nil
	})
	// The kernel's file, not the name it was given: /bin/sh resolved
	// through its links (/usr/bin/dash on Debian).
	if want, err := filepath.EvalSymlinks("/bin/sh"); err != nil || execRec["process.executable.path"] != want {
		t.Errorf("exec record path = %v, want %v (%v)", execRec["process.executable.path"], want, err)
	}
	if args, _ := execRec["process.command_args"].([]any); len(args) != 4 || args[3] != marker {
		t.Errorf("exec record args = %v", execRec["process.command_args"])
	}
	if exitRec["process.exit.code"] != int64(3) {
		t.Errorf("exit record code = %v", exitRec["process.exit.code"])
	}

	// The metrics pipeline: the collector's own process, among the heaviest
	// by memory, is on the Prometheus endpoint with its resource attributes.
	self := fmt.Sprintf(`process_pid="%d"`, c.cmd.Process.Pid)
	waitFor(t, 30*time.Second, "process metrics on the Prometheus endpoint", func() bool {
		body := httpGet(fmt.Sprintf("http://127.0.0.1:%d/metrics", prom))
		for _, line := range strings.Split(body, "\n") {
			if strings.HasPrefix(line, "process_memory_usage_bytes{") && strings.Contains(line, self) &&
				strings.Contains(line, `process_executable_name="otelcol-linnix"`) {
				return strings.Contains(body, "linnix_process_cpu_cores") && strings.Contains(body, "system_process_count")
			}
		}
		return false
	})

	// The incident processor reports the collector's standard processor
	// telemetry, for both signals it reads.
	waitFor(t, 30*time.Second, "the incident processor's items on the telemetry endpoint", func() bool {
		body := httpGet(fmt.Sprintf("http://127.0.0.1:%d/metrics", telemetry))
		n := 0
		for _, line := range strings.Split(body, "\n") {
			// The counter's name has a _total suffix or not, depending on
			// the collector's Prometheus translation settings.
			if (strings.HasPrefix(line, "otelcol_processor_incoming_items") || strings.HasPrefix(line, "otelcol_processor_outgoing_items")) &&
				!strings.HasPrefix(line, "# ") &&
				strings.Contains(line, `processor="incident"`) {
				n++
			}
		}
		return n == 4 // incoming and outgoing, logs and metrics
	})

	c.stop(t)
}

func testUnprivileged(t *testing.T, bin string) {
	// The checkout may be private to root: give the user its own copy.
	example, err := os.ReadFile(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(filepath.Dir(bin), "default.yaml")
	if err := os.WriteFile(config, example, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--config", config,
		"--config", "yaml:exporters::file::path: /dev/null",
		"--config", fmt.Sprintf("yaml:extensions::health_check::endpoint: 127.0.0.1:%d", freePort(t)),
		"--config", fmt.Sprintf("yaml:exporters::prometheus::endpoint: 127.0.0.1:%d", freePort(t)),
		"--config", telemetryOn(freePort(t)),
	)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("unprivileged collector kept running:\n%s", out)
	}
	if err == nil {
		t.Fatalf("unprivileged collector exited 0:\n%s", out)
	}
	t.Logf("unprivileged run: %v", err)
	for _, want := range []string{"CAP_BPF", "CAP_PERFMON", "setcap cap_bpf,cap_perfmon"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("error output lacks %q:\n%s", want, out)
		}
	}
}

func httpGet(url string) string {
	resp, err := http.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return b.String()
}

// telemetryOn moves the collector's own metrics endpoint to port.
func telemetryOn(port int) string {
	return fmt.Sprintf("yaml:service::telemetry::metrics::readers: [{pull: {exporter: {prometheus: {host: 127.0.0.1, port: %d}}}}]", port)
}

// readRecords flattens every log record of the file exporter's JSON lines
// into its attributes plus "event".
func readRecords(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var um plog.JSONUnmarshaler
	for sc.Scan() {
		ld, err := um.UnmarshalLogs(sc.Bytes())
		if err != nil {
			continue // a line still being written
		}
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			sls := ld.ResourceLogs().At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				lrs := sls.At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					m := lrs.At(k).Attributes().AsRaw()
					m["event"] = lrs.At(k).EventName()
					m["body"] = lrs.At(k).Body().AsString()
					out = append(out, m)
				}
			}
		}
	}
	return out
}

func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s after %v", what, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
