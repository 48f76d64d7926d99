//go:build linux

package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/linnix-os/otelcol-linnix/internal/testserver"
)

// The README's least-privilege setup, tested: a copy of the binary with
// file capabilities, run as an ordinary user (nobody), captures the exec and
// exit of a process of another user (root) and serves process metrics.

const nobody = 65534

// Capability bits of /proc/PID/status CapEff (linux/capability.h).
const (
	capSysPtrace = 19
	capPerfmon   = 38
	capBPF       = 39
)

func TestLeastPrivilege(t *testing.T) {
	requireRoot(t) // to setcap and to switch to an unprivileged user
	setcap, err := exec.LookPath("setcap")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("setcap not found: install libcap2-bin")
		}
		t.Skip("setcap not found (libcap2-bin)")
	}
	src := buildCollector(t)

	// A directory the user can read (the binary, its config) and write (the
	// records); not t.TempDir, whose parent is private to root.
	dir, err := os.MkdirTemp("", "otelcol-linnix-priv-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "otelcol-linnix")
	copyBinary(t, src, bin)
	outDir := filepath.Join(dir, "out")
	if err := os.Mkdir(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(outDir, nobody, nobody); err != nil {
		t.Fatal(err)
	}

	// With cap_sys_ptrace the snapshot reads every executable that root
	// (this test) can: a host whose pid 1 keeps even root out makes the
	// collector warn about it too.
	withPtrace := 0
	if deniedToRoot(t) > 0 {
		withPtrace = 1
	}
	for _, tc := range []struct {
		caps string
		want []int
		// How often the collector warns that the start-up snapshot could
		// not read other users' executables.
		deniedWarnings int
	}{
		// The documented set: the start-up snapshot can read every
		// process's executable.
		{"cap_bpf,cap_perfmon,cap_sys_ptrace+ep", []int{capBPF, capPerfmon, capSysPtrace}, withPtrace},
		// The minimum: the capture itself needs no more. Root's processes
		// (this test's among them) predate the collector, so it says, once,
		// what the snapshot missed.
		{"cap_bpf,cap_perfmon+ep", []int{capBPF, capPerfmon}, 1},
	} {
		t.Run(tc.caps, func(t *testing.T) {
			if out, err := exec.Command(setcap, tc.caps, bin).CombinedOutput(); err != nil {
				t.Fatalf("setcap %s: %v\n%s", tc.caps, err, out)
			}
			out := runUnprivileged(t, bin, outDir, tc.want)
			if n := strings.Count(out, deniedWarning); n != tc.deniedWarnings {
				t.Errorf("%q logged %d times, want %d:\n%s", deniedWarning, n, tc.deniedWarnings, out)
			}
		})
	}
}

// deniedWarning is the start of the receiver's warning that the start-up
// snapshot was denied other users' executables.
const deniedWarning = "Cannot read the executable of "

// runUnprivileged runs the collector as nobody with bin's file capabilities,
// checks what it captures, stops it and returns its output.
func runUnprivileged(t *testing.T, bin, outDir string, wantCaps []int) string {
	records := filepath.Join(outDir, fmt.Sprintf("events-%d.jsonl", time.Now().UnixNano()))
	health, prom, telemetry := freePort(t), freePort(t), freePort(t)
	config := filepath.Join(filepath.Dir(bin), "config.yaml")
	if err := os.WriteFile(config, []byte(fmt.Sprintf(`
extensions:
  health_check: {endpoint: "127.0.0.1:%d"}
receivers:
  ebpfprocess: {collection_interval: 1s, top_n: 0}
exporters:
  file: {path: %q}
  prometheus:
    endpoint: "127.0.0.1:%d"
    resource_to_telemetry_conversion: {enabled: true}
service:
  extensions: [health_check]
  pipelines:
    logs: {receivers: [ebpfprocess], exporters: [file]}
    metrics: {receivers: [ebpfprocess], exporters: [prometheus]}
  telemetry:
    metrics:
      readers: [{pull: {exporter: {prometheus: {host: 127.0.0.1, port: %d}}}}]
`, health, records, prom, telemetry)), 0o644); err != nil {
		t.Fatal(err)
	}

	out := &testserver.Buffer{}
	cmd := exec.Command(bin, "--config", config)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("collector output:\n%s", out.String())
		}
	})
	waitFor(t, 90*time.Second, "the unprivileged collector healthy", func() bool {
		select {
		case <-exited:
			t.Fatalf("the collector exited:\n%s", out.String())
		default:
		}
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", health))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	// Ground truth that it runs as nobody with exactly the file's
	// capabilities, not as root.
	uid, capEff := procStatus(t, cmd.Process.Pid)
	if uid != strconv.Itoa(nobody) {
		t.Fatalf("collector runs as uid %s", uid)
	}
	var want uint64
	for _, c := range wantCaps {
		want |= 1 << c
	}
	if capEff != want {
		t.Fatalf("collector CapEff = %#x, want %#x", capEff, want)
	}

	// A process of another user (root) with a distinctive argv.
	marker := fmt.Sprintf("linnix-priv-%d", time.Now().UnixNano())
	child := exec.Command("/bin/sh", "-c", "exit 5", marker)
	_ = child.Run()
	pid := int64(child.Process.Pid)
	var execRec, exitRec map[string]any
	waitFor(t, 30*time.Second, "the root child's exec and exit records", func() bool {
		execRec, exitRec = nil, nil
		for _, r := range readRecords(t, records) {
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
	if args, _ := execRec["process.command_args"].([]any); len(args) != 4 || args[3] != marker {
		t.Errorf("exec record args = %v", execRec["process.command_args"])
	}
	// The path the kernel resolved: /bin/sh or what it links to.
	sh, err := filepath.EvalSymlinks("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	if p := execRec["process.executable.path"]; p != "/bin/sh" && p != sh {
		t.Errorf("exec record path = %v, want /bin/sh or %s", p, sh)
	}
	if exitRec["process.exit.code"] != int64(5) {
		t.Errorf("exit record code = %v", exitRec["process.exit.code"])
	}

	// Process metrics of another user's process: a root sleeper, every
	// process being reported (top_n: 0).
	sleeper := exec.Command("/bin/sleep", "3600")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() })
	series := fmt.Sprintf(`process_pid="%d"`, sleeper.Process.Pid)
	waitFor(t, 60*time.Second, "the root sleeper's series on the Prometheus endpoint", func() bool {
		body := httpGet(fmt.Sprintf("http://127.0.0.1:%d/metrics", prom))
		for _, line := range strings.Split(body, "\n") {
			if strings.HasPrefix(line, "process_memory_usage_bytes{") && strings.Contains(line, series) &&
				strings.Contains(line, `process_owner="root"`) {
				return true
			}
		}
		return false
	})

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-exited
	if !cmd.ProcessState.Success() {
		t.Errorf("collector did not stop cleanly: %v", cmd.ProcessState)
	}
	return out.String()
}

// deniedToRoot counts the processes whose executable link this process may
// not read.
func deniedToRoot(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if _, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); errors.Is(err, fs.ErrPermission) {
			n++
		}
	}
	return n
}

// procStatus reads a process's real uid and effective capabilities.
func procStatus(t *testing.T, pid int) (uid string, capEff uint64) {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, _ := strings.Cut(line, ":")
		f := strings.Fields(v)
		switch {
		case k == "Uid" && len(f) > 0:
			uid = f[0]
		case k == "CapEff" && len(f) > 0:
			if capEff, err = strconv.ParseUint(f[0], 16, 64); err != nil {
				t.Fatal(err)
			}
		}
	}
	return uid, capEff
}

func copyBinary(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
