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
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/linnix-os/otelcol-linnix/internal/testserver"
)

// The README's least-privilege setup, tested: a copy of the binary with
// file capabilities, run as an ordinary user (nobody), captures the exec and
// exit of a process of another user (root), names the executable of a root
// process that was running before it without CAP_SYS_PTRACE, and serves
// process metrics.

const nobody = 65534

// Capability bits of /proc/PID/status CapEff (linux/capability.h).
const (
	capPerfmon = 38
	capBPF     = 39
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

	const caps = "cap_bpf,cap_perfmon+ep" // the README's, and all the capture needs
	if out, err := exec.Command(setcap, caps, bin).CombinedOutput(); err != nil {
		t.Fatalf("setcap %s: %v\n%s", caps, err, out)
	}
	t.Run("plain /proc", func(t *testing.T) {
		out := runUnprivileged(t, bin, outDir, []int{capBPF, capPerfmon}, false)
		// The kernel names every process's executable; /proc/PID/exe is
		// read, and may be denied, only for what it does not list. A host
		// whose pid 1 keeps even root out of its exe link (and out of the
		// kernel's task iterator) makes the collector say so, once, for
		// that many at most.
		denied := deniedToRoot(t)
		warnings := deniedWarning.FindAllStringSubmatch(out, -1)
		switch {
		case denied == 0 && len(warnings) > 0:
			t.Errorf("warned %q, yet root can read every exe link", warnings[0][0])
		case len(warnings) > 1:
			t.Errorf("warned %d times, want once at most", len(warnings))
		case len(warnings) == 1:
			if n, _ := strconv.Atoi(warnings[0][1]); n < 1 || n > denied {
				t.Errorf("warned of %d processes; root is denied %d exe links", n, denied)
			}
		}
		if m := hiddenNote.FindString(out); m != "" {
			t.Errorf("said %q with every process visible in /proc", m)
		}
	})
	// A /proc that hides other users' processes (hidepid=invisible) from
	// the collector: the kernel still names them.
	t.Run("hidepid /proc", func(t *testing.T) {
		out := runUnprivileged(t, bin, outDir, []int{capBPF, capPerfmon}, true)
		if m := hiddenNote.FindStringSubmatch(out); m == nil {
			t.Error("no note of the processes hidden in /proc")
		} else if n, _ := strconv.Atoi(m[1]); n < 1 {
			t.Errorf("noted %q", m[0])
		}
		if w := deniedWarning.FindString(out); w != "" {
			t.Errorf("warned %q: a hidden process is not a denied one", w)
		}
	})
}

// hiddenNote matches the receiver's note that it named processes /proc
// hides from it by the kernel alone.
var hiddenNote = regexp.MustCompile(`Named (\d+) process(?:es)? that /proc hides from this user`)

// deniedWarning matches the receiver's warning that it could name the
// executables of some processes neither in the kernel nor from /proc.
var deniedWarning = regexp.MustCompile(`Cannot name the executable of (\d+) process(?:es)? `)

// runUnprivileged runs the collector as nobody with bin's file capabilities
// (in a mount namespace of its own whose /proc hides other users' processes,
// with hidepid), checks what it captures, stops it and returns its output.
func runUnprivileged(t *testing.T, bin, outDir string, wantCaps []int, hidepid bool) string {
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

	// A root process running before the collector starts: only the
	// kernel can name its executable to a collector without
	// CAP_SYS_PTRACE.
	before := exec.Command("/bin/sleep", "3600")
	if err := before.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = before.Process.Kill(); _ = before.Wait() })

	out := &testserver.Buffer{}
	cmd := exec.Command(bin, "--config", config)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	if hidepid {
		// unshare, sh and setpriv each exec the next: the pid stays the
		// collector's.
		cmd = exec.Command("unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
			`mount -t proc -o hidepid=invisible proc /proc && exec setpriv --reuid=`+strconv.Itoa(nobody)+
				` --regid=`+strconv.Itoa(nobody)+` --clear-groups -- "$0" --config "$1"`, bin, config)
	}
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

	// Process metrics of another user's process: the root sleeper, every
	// process being reported (top_n: 0).
	series := fmt.Sprintf(`process_pid="%d"`, before.Process.Pid)
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

	// Its exit record names the executable the start-up snapshot took
	// from the kernel.
	sleep, err := filepath.EvalSymlinks("/bin/sleep")
	if err != nil {
		t.Fatal(err)
	}
	_ = before.Process.Kill()
	_ = before.Wait()
	beforePID := int64(before.Process.Pid)
	waitFor(t, 30*time.Second, "the earlier root sleeper's exit record", func() bool {
		for _, r := range readRecords(t, records) {
			if r["process.pid"] == beforePID && r["event"] == "linnix.process.exit" {
				exitRec = r
				return true
			}
		}
		return false
	})
	if p := exitRec["process.executable.path"]; p != sleep {
		t.Errorf("the earlier root sleeper's exit record names %v, want %s", p, sleep)
	}

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
