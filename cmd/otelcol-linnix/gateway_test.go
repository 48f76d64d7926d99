//go:build linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The incident processor reads only the telemetry it is given. These tests
// run it where it cannot read the process's host for it: in a second
// collector behind OTLP, and behind the contrib hostmetrics receiver
// instead of ours.

// agentConfig: collector A captures with ebpfprocess and sends everything
// over OTLP/gRPC to B.
const agentConfig = `
extensions:
  health_check: {endpoint: "127.0.0.1:%[1]d"}
receivers:
  ebpfprocess:
    collection_interval: 1s
    top_n: 0
exporters:
  otlp_grpc:
    endpoint: "127.0.0.1:%[2]d"
    tls: {insecure: true}
service:
  extensions: [health_check]
  pipelines:
    logs: {receivers: [ebpfprocess], exporters: [otlp_grpc]}
    metrics: {receivers: [ebpfprocess], exporters: [otlp_grpc]}
  telemetry:
    metrics: {level: none}
`

// gatewayConfig: collector B has no receiver of its own but OTLP; its
// incident processor judges A's data. oom_risk keeps the built-in rule and
// overrides only how long the ratio must hold.
const gatewayConfig = `
extensions:
  health_check: {endpoint: "127.0.0.1:%[1]d"}
receivers:
  otlp:
    protocols:
      grpc: {endpoint: "127.0.0.1:%[2]d"}
processors:
  incident:
    evaluation_interval: 200ms
    rules:
      - {name: oom_risk, for: 2s}
exporters:
  file: {path: "%[3]s"}
service:
  extensions: [health_check]
  pipelines:
    logs: {receivers: [otlp], processors: [incident], exporters: [file]}
    metrics: {receivers: [otlp], processors: [incident], exporters: [file]}
  telemetry:
    metrics: {level: none}
`

// TestGatewayRaisesOOMRiskFromTheAgentsData: a child in a memory-limited
// cgroup on the agent's host raises oom_risk in the gateway, with the limit
// taken from the agent's data.
func TestGatewayRaisesOOMRiskFromTheAgentsData(t *testing.T) {
	requireRoot(t)
	bin := buildCollector(t)
	out := filepath.Join(t.TempDir(), "gateway.jsonl")
	bHealth, bOTLP, aHealth := freePort(t), freePort(t), freePort(t)
	startCollector(t, bin, bHealth, "--config", writeConfig(t, "gateway.yaml", fmt.Sprintf(gatewayConfig, bHealth, bOTLP, out)))
	startCollector(t, bin, aHealth, "--config", writeConfig(t, "agent.yaml", fmt.Sprintf(agentConfig, aHealth, bOTLP)))

	const limit = 128 << 20
	procs := memoryCgroup(t, limit)
	// 112 MiB of touched string in perl: an RSS about 0.95 of the limit,
	// above oom_risk's 0.9 and below the limit (no OOM kill).
	child := exec.Command("/bin/sh", "-c", `echo $$ > "$0" && exec perl -e 'my $x = ""; $x .= "a" x 1048576 for 1..112; sleep 120'`, procs)
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	pid := int64(child.Process.Pid)

	var got map[string]any
	waitFor(t, 60*time.Second, "oom_risk naming the child in the gateway's output", func() bool {
		for _, r := range incidentsIn(t, out, "oom_risk") {
			if r["process.pid"] == pid && r["incident.state"] == "firing" {
				got = r
				return true
			}
		}
		return false
	})
	ev := got["incident.evidence"].(map[string]any)
	if ev["limit_bytes"] != float64(limit) {
		t.Errorf("oom_risk limit = %v, want the cgroup's %d", ev["limit_bytes"], limit)
	}
	// The ratio agrees with the ground truth: VmRSS over the limit.
	truth := procStatusBytes(t, int(pid), "VmRSS") / limit
	if ratio, _ := ev["process.memory.usage"].(float64); ratio < truth-0.03 || ratio > truth+0.03 {
		t.Errorf("oom_risk ratio = %v, /proc says %.3f", ev["process.memory.usage"], truth)
	}
	t.Logf("gateway: %s", got["body"])
}

// memoryCgroup creates a memory-limited cgroup (the v1 memory controller
// on a hybrid host, v2 on a unified one) and returns its cgroup.procs.
func memoryCgroup(t *testing.T, limit int64) string {
	t.Helper()
	name := fmt.Sprintf("linnix-e2e-%d", time.Now().UnixNano())
	dir, limitFile := filepath.Join("/sys/fs/cgroup/memory", name), "memory.limit_in_bytes"
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		dir, limitFile = filepath.Join("/sys/fs/cgroup", name), "memory.max"
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The cgroup can go once its processes have exited.
		waitFor(t, 10*time.Second, "cgroup removed", func() bool { return os.Remove(dir) == nil })
	})
	if err := os.WriteFile(filepath.Join(dir, limitFile), []byte(strconv.FormatInt(limit, 10)), 0o644); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "cgroup.procs")
}

// procStatusBytes reads a kB field of /proc/PID/status.
func procStatusBytes(t *testing.T, pid int, field string) float64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb * 1024
		}
	}
	t.Fatalf("no %s for pid %d", field, pid)
	return 0
}

// dropInConfig: the contrib hostmetrics process scraper, not ebpfprocess,
// feeds the built-in rules; only their durations, and cpu_spin's value (so
// that a burner on a busy shared host qualifies), are changed for a test.
const dropInConfig = `
extensions:
  health_check: {endpoint: "127.0.0.1:%[1]d"}
receivers:
  otlp:
    protocols:
      grpc: {endpoint: "127.0.0.1:%[3]d"}
  host_metrics:
    collection_interval: 1s
    scrapers:
      process:
        mute_process_name_error: true
        mute_process_exe_error: true
        mute_process_io_error: true
        mute_process_user_error: true
        mute_process_cgroup_error: true
processors:
  incident:
    evaluation_interval: 200ms
    rules:
      - {name: cpu_spin, for: 5s, value: 0.3}
      - {name: memory_leak, window: 15s, min_slope_per_minute: 104857600, min_growth: 104857600}
exporters:
  file: {path: "%[2]s"}
service:
  extensions: [health_check]
  pipelines:
    logs: {receivers: [otlp], processors: [incident], exporters: [file]}
    metrics: {receivers: [host_metrics], processors: [incident], exporters: [file]}
  telemetry:
    metrics: {level: none}
`

// TestDefaultRulesFireOnHostmetricsProcessMetrics: the built-in cpu_spin
// and memory_leak fire on the contrib hostmetrics process scraper's
// metrics (process.cpu.time by state, process.memory.usage).
func TestDefaultRulesFireOnHostmetricsProcessMetrics(t *testing.T) {
	requireRoot(t)
	bin := buildCollector(t)
	out := filepath.Join(t.TempDir(), "dropin.jsonl")
	health := freePort(t)
	startCollector(t, bin, health, "--config", writeConfig(t, "dropin.yaml", fmt.Sprintf(dropInConfig, health, out, freePort(t))))

	began := time.Now()
	// At nice -15 the burner gets a core even beside a parallel build.
	burner := exec.Command("nice", "-n", "-15", "perl", "-e", "1 while 1")
	// +20 MiB of touched memory a second, up to 1 GiB.
	leaker := exec.Command("perl", "-e", `my @held; for (1..50) { push @held, "a" x 20971520; sleep 1 } sleep 120`)
	for _, c := range []*exec.Cmd{burner, leaker} {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Process.Kill(); _ = c.Wait() })
	}

	fired := func(rule string, pid int) map[string]any {
		for _, r := range incidentsIn(t, out, rule) {
			if r["process.pid"] == int64(pid) && r["incident.state"] == "firing" {
				return r
			}
		}
		return nil
	}
	waitFor(t, 60*time.Second, "cpu_spin naming the burner and memory_leak naming the leaker", func() bool {
		return fired("cpu_spin", burner.Process.Pid) != nil && fired("memory_leak", leaker.Process.Pid) != nil
	})
	// The cores the incident reports (process.cpu.time per second over the
	// last scrape) agree with /proc's average for the burner.
	avg := procCPUSeconds(t, burner.Process.Pid) / time.Since(began).Seconds()
	ev := fired("cpu_spin", burner.Process.Pid)["incident.evidence"].(map[string]any)
	if reported, _ := ev["process.cpu.time"].(float64); reported < avg-0.35 || reported > avg+0.35 {
		t.Errorf("cpu_spin reported %v cores, /proc says %.2f on average", ev["process.cpu.time"], avg)
	}
	t.Logf("hostmetrics: %s | %s", fired("cpu_spin", burner.Process.Pid)["body"], fired("memory_leak", leaker.Process.Pid)["body"])
}

// procCPUSeconds is a process's utime+stime from /proc/PID/stat.
func procCPUSeconds(t *testing.T, pid int) float64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100 // USER_HZ
}
