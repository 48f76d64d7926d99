//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
	"github.com/linnix-os/otelcol-linnix/internal/insightsapi"
	"github.com/linnix-os/otelcol-linnix/internal/kerneltest"

	"github.com/linnix-os/otelcol-linnix/internal/testserver"
)

// The end-to-end test builds the collector and this CLI as users do, runs
// the collector with ebpfprocess -> incident -> linnix_insights (and the
// file exporter), and drives the CLI against what the kernel, /proc and
// the workloads themselves say happened.

// built holds the binaries, built once per test binary and removed by
// TestMain.
var built struct {
	once                sync.Once
	dir, collector, cli string
	err                 error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

func buildBinaries(t *testing.T) (collector, cli string) {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "linnix-e2e-"); built.err != nil {
			return
		}
		built.collector = filepath.Join(built.dir, "otelcol-linnix")
		built.cli = filepath.Join(built.dir, "linnix")
		for _, b := range []struct{ dir, out string }{{"../otelcol-linnix", built.collector}, {".", built.cli}} {
			cmd := exec.Command("go", "build", "-o", b.out, ".")
			cmd.Dir = b.dir
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				built.err = fmt.Errorf("go build in %s: %w\n%s", b.dir, err, out)
				return
			}
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.collector, built.cli
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

func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s after %v", what, limit)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// The fork storm rule's threshold sits well under what the storm below
// forks even on a slow, overloaded 2-core machine (the default rule's
// 1000/s would not fire there). The rule counts perl's forks per parent,
// so that builds forking elsewhere on the host never raise it: the
// incident is the storm's.
const stormThreshold = 50

const e2eConfig = `
extensions:
  health_check:
    endpoint: 127.0.0.1:%[1]d
receivers:
  ebpfprocess:
    collection_interval: 1s
processors:
  incident:
    evaluation_interval: 200ms
    default_rules: false
    rules:
      - name: fork_storm
        kind: rate
        event: fork
        window: 5s
        min_count: %[5]d
        group_by: parent
        where: attributes["process.executable.name"] == "perl"
        severity: critical
        summary: "{{.Exe}} pid {{.PID}} forked {{num .Count}} processes in {{dur .Window}}"
        actions:
          - "Find the parent: ps -eo ppid= | sort | uniq -c | sort -rn | head"
exporters:
  file:
    path: %[2]s
    format: json
  linnix_insights:
    endpoint: 127.0.0.1:%[3]d
    self_metrics_endpoint: http://127.0.0.1:%[4]d/metrics
service:
  extensions: [health_check]
  pipelines:
    logs:
      receivers: [ebpfprocess]
      processors: [incident]
      exporters: [file, linnix_insights]
    metrics:
      receivers: [ebpfprocess]
      processors: [incident]
      exporters: [linnix_insights]
  telemetry:
    metrics:
      level: normal
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: %[4]d
`

// e2e is one running collector and the CLI pointed at it.
type e2e struct {
	t                   *testing.T
	cli, config, file   string
	addr                string
	collector           *exec.Cmd
	client              *insightsapi.Client
	collectorOut        *testserver.Buffer
	collectorBinary     string
	healthPort, apiPort int
}

func startE2E(t *testing.T) *e2e {
	kerneltest.Require(t)
	// Build before taking the host-wide lock: other kernel tests need not
	// wait for a compiler.
	collector, cli := buildBinaries(t)
	kerneltest.Exclusive(t)
	dir := t.TempDir()
	e := &e2e{t: t, cli: cli, file: filepath.Join(dir, "events.jsonl"), collectorBinary: collector,
		healthPort: freePort(t), apiPort: freePort(t), collectorOut: &testserver.Buffer{}}
	telemetry := freePort(t)
	e.addr = fmt.Sprintf("127.0.0.1:%d", e.apiPort)
	e.config = filepath.Join(dir, "config.yaml")
	body := fmt.Sprintf(e2eConfig, e.healthPort, e.file, e.apiPort, telemetry, stormThreshold)
	if err := os.WriteFile(e.config, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	e.client = insightsapi.NewClient(e.addr, "", nil)

	e.collector = exec.Command(collector, "--config", e.config)
	e.collector.Stdout, e.collector.Stderr = e.collectorOut, e.collectorOut
	// Killed with the test binary too: cleanups do not run on a timeout.
	e.collector.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := e.collector.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = e.collector.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = e.collector.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = e.collector.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("collector output:\n%s", e.collectorOut.String())
		}
	})
	waitFor(t, 90*time.Second, "collector healthy", func() bool {
		select {
		case <-exited:
			t.Fatalf("collector exited before becoming healthy:\n%s", e.collectorOut.String())
		default:
		}
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", e.healthPort))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return e
}

// linnix runs the CLI against the collector and returns its output.
func (e *e2e) linnix(args ...string) (string, error) {
	cmd := exec.Command(e.cli, append([]string{"--addr", e.addr}, args...)...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestEndToEnd(t *testing.T) {
	e := startE2E(t)
	t.Run("tail shows a child's exec and exit with its argv", e.testTail)
	t.Run("incidents and show report a fork storm", e.testForkStorm)
	t.Run("processes agree with /proc for a spinning child", e.testProcesses)
	t.Run("top under tmux shows the spinning child and switches sort", e.testTop)
	t.Run("stats and doctor read the running collector", e.testStatsAndDoctor)
}

func (e *e2e) testTail(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tail := exec.CommandContext(ctx, e.cli, "--addr", e.addr, "tail", "-o", "json", "--type", "exec,exit")
	stdout, err := tail.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	tail.Stderr = &testserver.Buffer{}
	if err := tail.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = tail.Wait() }()
	events := make(chan insightsapi.Event, 4096)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			var ev insightsapi.Event
			if json.Unmarshal(sc.Bytes(), &ev) == nil {
				events <- ev
			}
		}
		close(events)
	}()
	// The server says when tail is connected.
	waitFor(t, 30*time.Second, "tail connected to the event stream", func() bool {
		st, err := e.client.Stats(context.Background())
		return err == nil && st.StreamClients >= 1
	})

	marker := fmt.Sprintf("linnix-cli-e2e-%d", time.Now().UnixNano())
	child := exec.Command("/bin/sh", "-c", "exit 3", marker)
	_ = child.Run()
	pid := int64(child.Process.Pid)

	var execEv, exitEv *insightsapi.Event
	deadline := time.After(30 * time.Second)
	for execEv == nil || exitEv == nil {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("tail ended: %s", tail.Stderr)
			}
			if ev.PID != pid {
				continue
			}
			switch ev.Type {
			case insightsapi.EventExec:
				execEv = &ev
			case insightsapi.EventExit:
				exitEv = &ev
			default:
				t.Errorf("--type exec,exit let a %s through", ev.Type)
			}
		case <-deadline:
			t.Fatalf("no exec and exit of pid %d on tail within 30s (exec %v, exit %v)", pid, execEv != nil, exitEv != nil)
		}
	}
	args, _ := execEv.Attributes[contract.ProcessCommandArgs].([]any)
	if len(args) != 4 || args[0] != "/bin/sh" || args[3] != marker {
		t.Errorf("exec argv = %v, want [/bin/sh -c exit 3 %s]", args, marker)
	}
	if execEv.Executable != "sh" && execEv.Executable != "dash" && execEv.Executable != "bash" {
		t.Errorf("exec executable = %q", execEv.Executable)
	}
	if code, ok := intAttr(exitEv.Attributes, contract.ProcessExitCode); !ok || code != 3 {
		t.Errorf("exit code = %v, want 3", exitEv.Attributes[contract.ProcessExitCode])
	}

	// The compact view of the same records, replayed by pid, and the file
	// exporter's copy read with --file, say the same.
	want := []string{fmt.Sprintf("exec     pid %d ppid %d /bin/sh -c exit 3 %s", pid, os.Getpid(), marker), fmt.Sprintf("exit     pid %d %s code 3, after ", pid, execEv.Executable)}
	replayCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	replay := exec.CommandContext(replayCtx, e.cli, "--addr", e.addr, "tail", "--replay", "10000", "--pid", strconv.FormatInt(pid, 10), "--type", "exec,exit")
	out, _ := replay.Output() // ends by the timeout: tail follows
	for _, w := range want {
		if !strings.Contains(string(out), w) {
			t.Errorf("tail --replay lacks %q:\n%s", w, out)
		}
	}
	waitFor(t, 30*time.Second, "the records in the file exporter's output", func() bool {
		out, err := e.linnix("tail", "--file", e.file, "--pid", strconv.FormatInt(pid, 10), "--type", "exec,exit")
		return err == nil && strings.Contains(out, want[0]) && strings.Contains(out, want[1])
	})
}

func (e *e2e) testForkStorm(t *testing.T) {
	// The storm forks as fast as the machine lets it for 5s and counts its
	// own forks; each child exits at once.
	storm, forked := kerneltest.ForkStorm(t, 5*time.Second, 50)
	if forked < stormThreshold*3/2 {
		t.Fatalf("the storm forked only %d times in 5s: the test needs 1.5 times the rule's %d", forked, stormThreshold)
	}

	var id string
	row := regexp.MustCompile(`(?m)^([0-9a-f]+)\s+fork_storm\s+critical\s+(firing|resolved)\s`)
	waitFor(t, 30*time.Second, "fork_storm in linnix incidents", func() bool {
		out, err := e.linnix("incidents")
		if err != nil {
			return false
		}
		if m := row.FindStringSubmatch(out); m != nil {
			id = m[1]
		}
		return id != ""
	})
	show, err := e.linnix("show", id)
	if err != nil {
		t.Fatalf("show %s: %v\n%s", id, err, show)
	}
	// The evidence counts at least the rule's threshold and no more forks
	// than the storm made plus what the rest of the host forked meanwhile.
	m := regexp.MustCompile(`(?m)^  count=(\d+)$`).FindStringSubmatch(show)
	if m == nil {
		t.Fatalf("show prints no count evidence:\n%s", show)
	}
	count, _ := strconv.Atoi(m[1])
	if count < stormThreshold || count > forked {
		t.Errorf("evidence count %d: the rule needs %d and the storm forked %d", count, stormThreshold, forked)
	}
	stormPID := storm.Process.Pid
	for _, want := range []string{"Incident " + id + "  fork_storm (rate)  CRITICAL",
		fmt.Sprintf("Process  perl pid %d", stormPID),
		fmt.Sprintf("Summary\n  perl pid %d forked ", stormPID),
		"Evidence\n", "Actions\n  1. Find the parent"} {
		if !strings.Contains(show, want) {
			t.Errorf("show lacks %q:\n%s", want, show)
		}
	}
	t.Logf("storm forked %d; fork_storm %s counted %d", forked, id, count)

	if out, err := e.linnix("show", "0000000000000000"); err == nil || !strings.Contains(out, `no incident with id "0000000000000000"`) {
		t.Errorf("show of an unknown id: %v\n%s", err, out)
	}
}

// spinner starts a child that spins on a CPU until the test ends.
func spinner(t *testing.T) int {
	t.Helper()
	marker := fmt.Sprintf("linnix-spin-%d", time.Now().UnixNano())
	cmd := exec.Command("perl", "-e", `$x++ while 1`, marker)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd.Process.Pid
}

// procCPUSeconds is utime+stime of pid from /proc/PID/stat.
func procCPUSeconds(t *testing.T, pid int) float64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// The fields after the command, which may hold spaces, in parentheses.
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+2:]))
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	const ticks = 100 // USER_HZ, fixed at 100 on Linux
	return (utime + stime) / ticks
}

// procRSS is VmRSS of pid in bytes.
func procRSS(t *testing.T, pid int) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return kb << 10
		}
	}
	t.Fatalf("no VmRSS for %d", pid)
	return 0
}

// sampleOf is the API's latest sample of pid, if it reports one.
func (e *e2e) sampleOf(pid int, sort string) (insightsapi.Process, bool) {
	l, err := e.client.Processes(context.Background(), sort, topLimit)
	if err != nil {
		return insightsapi.Process{}, false
	}
	for _, p := range l.Processes {
		if p.PID == int64(pid) {
			return p, true
		}
	}
	return insightsapi.Process{}, false
}

func (e *e2e) testProcesses(t *testing.T) {
	pid := spinner(t)
	// A sample taken after `before`: its CPU time lies between the two
	// /proc reads around it.
	var before, after float64
	var got insightsapi.Process
	waitFor(t, 30*time.Second, "a fresh sample of the spinner", func() bool {
		t0 := time.Now()
		before = procCPUSeconds(t, pid)
		waitFor(t, 10*time.Second, "a newer sample", func() bool {
			p, ok := e.sampleOf(pid, insightsapi.SortCPU)
			got = p
			return ok && p.Sampled.After(t0)
		})
		after = procCPUSeconds(t, pid)
		return after > 0.5 // the spinner has run long enough to measure
	})
	// /proc reports user and system time in 10 ms ticks, each truncated
	// on its own, so its sum can trail the kernel's exact run time by up
	// to two ticks.
	const tick = 0.01
	if got.CPUTime < before-2*tick || got.CPUTime > after+2*tick {
		t.Errorf("API CPU time %.3fs outside the /proc bracket [%.2f, %.2f]", got.CPUTime, before, after)
	}
	rss := procRSS(t, pid)
	if d := got.MemoryRSS - rss; d < -rss/10 || d > rss/10 {
		t.Errorf("API RSS %d bytes, /proc VmRSS %d bytes: more than 10%% apart", got.MemoryRSS, rss)
	}
	if got.Executable != "perl" || got.PPID != int64(os.Getpid()) {
		t.Errorf("sample identity = %+v", got)
	}
	t.Logf("spinner pid %d: API %.3fs CPU in [%.2f, %.2f], RSS %d vs VmRSS %d, %.2f cores", pid, got.CPUTime, before, after, got.MemoryRSS, rss, got.CPUCores)
}

func (e *e2e) testTop(t *testing.T) {
	tmux := lookTool(t, "tmux")
	pid := spinner(t)
	waitFor(t, 30*time.Second, "the spinner in the processes by CPU", func() bool {
		_, ok := e.sampleOf(pid, insightsapi.SortCPU)
		return ok
	})
	// A private tmux server: nothing of the user's is touched.
	sock := filepath.Join(t.TempDir(), "tmux.sock")
	tm := func(args ...string) (string, error) {
		out, err := exec.Command(tmux, append([]string{"-S", sock}, args...)...).CombinedOutput()
		return string(out), err
	}
	const session = "linnix-top"
	t.Cleanup(func() {
		_, _ = tm("kill-session", "-t", session)
		_, _ = tm("kill-server")
	})
	command := fmt.Sprintf("env TERM=xterm-256color %s --addr %s top --interval 500ms", e.cli, e.addr)
	if out, err := tm("new-session", "-d", "-s", session, "-x", "160", "-y", "50", command); err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	var screen string
	capture := func() string {
		screen, _ = tm("capture-pane", "-p", "-t", session)
		return screen
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last screen:\n%s", screen)
		}
	})
	pidCell := regexp.MustCompile(fmt.Sprintf(`(?m)^\s+%d\s`, pid))
	waitFor(t, 30*time.Second, "top's header and the spinner on screen", func() bool {
		s := capture()
		return strings.Contains(s, "linnix top http://"+e.addr+"  sort: CPU") &&
			strings.Contains(s, "collector  CPU ") && strings.Contains(s, "events/s   fork ") &&
			pidCell.MatchString(s)
	})
	if out, err := tm("send-keys", "-t", session, "m"); err != nil {
		t.Fatalf("send-keys: %v: %s", err, out)
	}
	// The header says memory and the rows on screen are in decreasing RSS.
	row := regexp.MustCompile(`(?m)^\s+\d+\s+\d+\s+[\d.]+%\s+\S+\s+([\d.]+) (B|KiB|MiB|GiB)\s`)
	unit := map[string]float64{"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
	waitFor(t, 30*time.Second, "sort: memory in the header and rows by decreasing memory", func() bool {
		s := capture()
		rows := row.FindAllStringSubmatch(s, -1)
		if !strings.Contains(s, "sort: memory") || len(rows) < 2 {
			return false
		}
		last := -1.0
		for _, r := range rows {
			v, _ := strconv.ParseFloat(r[1], 64)
			v *= unit[r[2]]
			if last >= 0 && v > last*1.001 {
				return false
			}
			last = v
		}
		return true
	})
	if out, err := tm("send-keys", "-t", session, "q"); err != nil {
		t.Fatalf("send-keys q: %v: %s", err, out)
	}
	waitFor(t, 10*time.Second, "top to quit on q", func() bool {
		_, err := tm("has-session", "-t", session)
		return err != nil
	})
}

func (e *e2e) testStatsAndDoctor(t *testing.T) {
	out, err := e.linnix("stats")
	if err != nil {
		t.Fatalf("stats: %v\n%s", err, out)
	}
	st, err := e.client.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`Records\s+fork (\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("stats:\n%s", out)
	}
	// Counts only grow: what stats printed is at most what the API says now.
	if n, _ := strconv.ParseUint(m[1], 10, 64); n == 0 || n > st.Records[insightsapi.EventFork] {
		t.Errorf("stats printed %d forks; the API now says %d", n, st.Records[insightsapi.EventFork])
	}
	if !strings.Contains(out, "Collector   CPU ") {
		t.Errorf("stats lacks the collector's own usage (%s):\n%s", st.SelfMetricsError, out)
	}

	out, err = e.linnix("doctor", "--collector", e.collectorBinary, "--config", e.config)
	if err != nil {
		t.Errorf("doctor failed on a working setup: %v\n%s", err, out)
	}
	for _, want := range []string{`insights API\s+answers at http://` + regexp.QuoteMeta(e.addr), `config incident\s+in logs, metrics`,
		`config linnix_insights\s+in logs, metrics`, `tp_btf programs\s+sched_process_fork loads and attaches`} {
		if !regexp.MustCompile(`(?m)^ok\s+` + want).MatchString(out) {
			t.Errorf("doctor lacks ok %q:\n%s", want, out)
		}
	}
}
