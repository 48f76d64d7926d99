//go:build linux

package incidents

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"gopkg.in/yaml.v3"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
	"github.com/linnix-os/otelcol-linnix/internal/kerneltest"
	"github.com/linnix-os/otelcol-linnix/internal/pdatautil"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor"
	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver"
)

const childEnv = "LINNIX_CORPUS_CHILD"

// TestHelperProcess is the memory_leak workload's growing process.
func TestHelperProcess(t *testing.T) {
	switch os.Getenv(childEnv) {
	case "":
		t.Skip("only runs as a child of the corpus")
	case "grow":
		// +20 MiB of touched memory a second, up to 1 GiB, then held.
		var held [][]byte
		for i := 0; i < 50; i++ {
			b := make([]byte, 20<<20)
			for j := 0; j < len(b); j += 4096 {
				b[j] = 1
			}
			held = append(held, b)
			time.Sleep(time.Second)
		}
		time.Sleep(time.Hour)
		_ = held
	}
	os.Exit(0)
}

// workload is one entry of the corpus.
type workload struct {
	name   string
	script string // under workloads/
	fault  bool
	expect string // the rule a fault must raise
	dur    int    // DUR for the script, seconds
	limit  time.Duration
	// rules: overrides of built-in rules whose for/window is longer than
	// the workload (stated in the README).
	rules string
	// needs: programs the workload runs (Debian: golang, dpkg, make, gcc).
	needs []string
}

var corpus = []workload{
	{name: "idle host", script: "idle.sh", dur: 20, limit: time.Minute},
	{name: "cold go build", script: "go_build.sh", limit: 15 * time.Minute, needs: []string{"go"}},
	{name: "dpkg install/reinstall/remove", script: "dpkg_install.sh", limit: 5 * time.Minute, needs: []string{"dpkg", "dpkg-deb"}},
	{name: "unit tests", script: "unit_tests.sh", limit: 15 * time.Minute, needs: []string{"go"}},
	{name: "make -j4 (C)", script: "make_j.sh", limit: 10 * time.Minute, needs: []string{"make", "cc"}},
	{name: "fork bomb (pids.max 200)", script: "fork_bomb.sh", fault: true, expect: "runaway_tree", dur: 25, limit: 2 * time.Minute},
	{name: "crash loop (exit 1 every ~0.3s)", script: "crash_loop.sh", fault: true, expect: "crash_loop", dur: 20, limit: time.Minute},
	{name: "hot exec loop (/bin/true)", script: "hot_exec.sh", fault: true, expect: "short_job_flood", dur: 25, limit: time.Minute},
	{name: "cpu spin", script: "cpu_spin.sh", fault: true, expect: "cpu_spin", dur: 45, limit: 90 * time.Second,
		rules: "{name: cpu_spin, for: 10s}"},
	{name: "OOM kill loop (64 MiB limit, 3 kills)", script: "oom_loop.sh", fault: true, expect: "oom_kill", dur: 5, limit: time.Minute, needs: []string{"perl"}},
	{name: "memory leak (+20 MiB/s)", script: "memory_leak.sh", fault: true, expect: "memory_leak", dur: 40, limit: 2 * time.Minute,
		rules: "{name: memory_leak, window: 20s}"},
}

// TestIncidentCorpus runs every workload under the receiver and the
// incident processor with the built-in rules, prints the scorer's table
// and asserts: no warning or critical incident raised by a benign
// workload's processes, the expected rule raised by each fault's.
func TestIncidentCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("the corpus takes minutes")
	}
	kerneltest.Require(t)
	var rows []row
	for _, w := range corpus {
		t.Run(strings.NewReplacer(" ", "_", "/", "_").Replace(w.name), func(t *testing.T) {
			r := runWorkload(t, w)
			rows = append(rows, r)
			if w.fault {
				if r.latency < 0 {
					t.Errorf("%s: expected %s, raised %s", w.name, w.expect, r.raised())
				}
			} else if serious := r.serious(); len(serious) > 0 {
				t.Errorf("%s: benign workload raised %s", w.name, strings.Join(serious, ", "))
			}
		})
	}
	table := formatTable(rows)
	fmt.Println(table)
	if out := os.Getenv("LINNIX_CORPUS_TABLE"); out != "" {
		require.NoError(t, os.WriteFile(out, []byte(table), 0o644))
	}
}

type incident struct {
	rule, severity, state string
	pid, ppid             int64
	at                    time.Time
	evidence              map[string]any
	body                  string
}

type row struct {
	w         workload
	incidents []incident // attributed to the workload, firings only
	other     int        // firings attributed elsewhere (host noise)
	latency   time.Duration
	took      time.Duration
	m         margins
}

func (r row) raised() string {
	if len(r.incidents) == 0 {
		return "none"
	}
	seen := map[string]bool{}
	var out []string
	for _, inc := range r.incidents {
		s := inc.rule + " (" + inc.severity + ")"
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return strings.Join(out, ", ")
}

func (r row) serious() []string {
	var out []string
	for _, inc := range r.incidents {
		if inc.severity == contract.SeverityWarning || inc.severity == contract.SeverityCritical {
			out = append(out, inc.rule+": "+inc.body)
		}
	}
	return out
}

func runWorkload(t *testing.T, w workload) row {
	for _, prog := range w.needs {
		if _, err := exec.LookPath(prog); err != nil {
			// CI must run every workload: there a missing tool fails.
			if os.Getenv("CI") != "" {
				t.Fatalf("%s needs %s: %v", w.name, prog, err)
			}
			t.Skipf("%s needs %s: %v", w.name, prog, err)
		}
	}
	kerneltest.Exclusive(t)
	doc := "default_rules: true\nevaluation_interval: 1s\n"
	if w.rules != "" {
		doc += "rules: [" + w.rules + "]\n"
	}
	s := startChain(t, processorConfig(t, doc))
	time.Sleep(2 * time.Second) // the receiver's first collection primes per-second rates

	repo, err := filepath.Abs("../..")
	require.NoError(t, err)
	self, err := os.Executable()
	require.NoError(t, err)
	cgFile := filepath.Join(t.TempDir(), "cgroup")
	cmd := exec.Command("bash", filepath.Join(repo, "bench/incidents/workloads", w.script))
	cmd.Env = append(os.Environ(), fmt.Sprintf("DUR=%d", w.dur), "REPO="+repo, "SELF="+self,
		"CGROUP_FILE="+cgFile, fmt.Sprintf("LIMIT=%d", int(w.limit.Seconds())))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	start := time.Now()
	require.NoError(t, cmd.Start())
	root := int64(cmd.Process.Pid)
	t.Cleanup(func() { killAll(cmd.Process.Pid, cgFile) })
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if !w.fault {
			require.NoError(t, err, "benign workload %s failed", w.name)
		}
	case <-time.After(w.limit):
		t.Errorf("%s: ran past its limit of %v", w.name, w.limit)
	}
	took := time.Since(start)
	killAll(cmd.Process.Pid, cgFile)
	time.Sleep(5 * time.Second) // the last records and evaluations

	recs := s.records()
	pids := descendants(recs, root)
	self64 := int64(os.Getpid())
	r := row{w: w, latency: -1, took: took, m: measure(recs, pids)}
	for _, inc := range s.firings() {
		// The workload's: its processes, its parent (the tree root of a
		// workload's processes is this test), and host-wide incidents.
		if pids[inc.pid] || pids[inc.ppid] || inc.pid == self64 || inc.rule == "fork_storm" {
			r.incidents = append(r.incidents, inc)
			if inc.rule == w.expect && r.latency < 0 {
				r.latency = inc.at.Sub(start)
			}
		} else {
			r.other++
			t.Logf("%s: elsewhere on the host: %s %s (pid %d ppid %d): %s", w.name, inc.severity, inc.rule, inc.pid, inc.ppid, inc.body)
		}
	}
	for _, inc := range r.incidents {
		t.Logf("%s: %s %s: %s %v", w.name, inc.severity, inc.rule, inc.body, inc.evidence)
	}
	return r
}

// killAll kills the workload's process group and, for the fork bomb, what
// is left in its cgroup, and removes the cgroup.
func killAll(pgid int, cgFile string) {
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	data, err := os.ReadFile(cgFile)
	if err != nil {
		return
	}
	cg := strings.TrimSpace(string(data))
	_ = os.WriteFile(filepath.Join(cg, "pids.max"), []byte("1"), 0o644)
	for i := 0; i < 200; i++ {
		procs, err := os.ReadFile(filepath.Join(cg, "cgroup.procs"))
		if err != nil || len(strings.TrimSpace(string(procs))) == 0 {
			break
		}
		for _, f := range strings.Fields(string(procs)) {
			var pid int
			if _, err := fmt.Sscan(f, &pid); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = os.Remove(cg)
}

// rec is one lifecycle record, as the margins need it.
type rec struct {
	event     string
	pid, ppid int64
	exe, args string
	code, sig int64
	life      float64
	ts        time.Time
}

// descendants is the set of pids forked, directly or not, by root.
func descendants(recs []rec, root int64) map[int64]bool {
	in := map[int64]bool{root: true}
	for _, r := range recs {
		if r.event == "fork" && in[r.ppid] {
			in[r.pid] = true
		}
	}
	return in
}

// margins are the workload's peaks of what each lifecycle rule measures,
// computed from its own records with the built-in rules' windows.
type margins struct {
	forks5s      int     // fork_storm: forks on the host in any 5 s (fires at 5000)
	forks1s      int     // fork_storm's fire window: forks on the host in any 1 s (fires at 1000...)
	forks1sBusy  float64 // ... on at least this share of its tenths (0.5)
	liveTree     int     // runaway_tree: most live descendants of the workload (fires at 100, +50 in 30 s)
	failures1m   int     // crash_loop: most failures of one exe under one parent in 1 m (fires at 5)
	failInterval float64 // ... their median interval, s (fires at ≥ 0.05)
	short15s     int     // short_job_flood: most short runs of one exe under one parent in 15 s (fires at 150)
	shortMean    float64 // ... their mean lifetime, s (fires at ≤ 0.05)
	shortSustain float64 // ... the share of the 5 s's 100 ms buckets holding one (fires at ≥ 0.8)
}

func measure(recs []rec, pids map[int64]bool) margins {
	var m margins
	var forks []time.Time
	live := 0
	type key struct {
		ppid      int64
		exe, args string
	}
	fails := map[key][]rec{}
	shorts := map[key][]rec{}
	for _, r := range recs {
		switch r.event {
		case "fork":
			forks = append(forks, r.ts)
			if pids[r.pid] {
				live++
				m.liveTree = max(m.liveTree, live)
			}
		case "exit":
			if !pids[r.pid] {
				continue
			}
			live--
			if r.code != 0 || r.sig != 0 {
				// crash_loop keys by the command line too
				fails[key{r.ppid, r.exe, r.args}] = append(fails[key{r.ppid, r.exe, r.args}], r)
			}
			if r.life < 1 {
				shorts[key{r.ppid, r.exe, ""}] = append(shorts[key{r.ppid, r.exe, ""}], r)
			}
		}
	}
	sort.Slice(forks, func(i, j int) bool { return forks[i].Before(forks[j]) })
	m.forks5s = maxInWindow(forks, 5*time.Second)
	m.forks1s, m.forks1sBusy = peakSecond(forks)
	for _, fs := range fails {
		if n, i := peak(fs, time.Minute); n > m.failures1m {
			m.failures1m = n
			m.failInterval = medianGap(fs[i : i+n])
		}
	}
	for _, ss := range shorts {
		if n, i := peak(ss, shortWindow); n > m.short15s {
			m.short15s = n
			var sum float64
			for _, r := range ss[i : i+n] {
				sum += r.life
			}
			m.shortMean = sum / float64(n)
			busy := map[int64]bool{}
			for _, r := range ss[i : i+n] {
				busy[r.ts.UnixNano()/int64(shortWindow/50)] = true
			}
			m.shortSustain = min(1, float64(len(busy))/50)
		}
	}
	return m
}

// shortWindow is short_job_flood's built-in window; sustain is measured in
// fiftieths of it, as the rule does.
const shortWindow = 15 * time.Second

func maxInWindow(ts []time.Time, w time.Duration) int {
	best, j := 0, 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

// peakSecond is the most forks in any 1 s (fork_storm's fire window), and
// the share of that second's tenths holding one, as the rule counts them.
func peakSecond(ts []time.Time) (n int, busy float64) {
	j := 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= time.Second {
			j++
		}
		if i-j+1 > n {
			tenths := map[time.Time]bool{}
			for _, t := range ts[j : i+1] {
				tenths[t.Truncate(100*time.Millisecond)] = true
			}
			n, busy = i-j+1, min(1, float64(len(tenths))/10)
		}
	}
	return n, busy
}

// peak is the largest number of records within w, and where it starts.
func peak(rs []rec, w time.Duration) (n, at int) {
	sort.Slice(rs, func(i, j int) bool { return rs[i].ts.Before(rs[j].ts) })
	j := 0
	for i := range rs {
		for rs[i].ts.Sub(rs[j].ts) >= w {
			j++
		}
		if i-j+1 > n {
			n, at = i-j+1, j
		}
	}
	return n, at
}

func medianGap(rs []rec) float64 {
	if len(rs) < 2 {
		return 0
	}
	var d []float64
	for i := 1; i < len(rs); i++ {
		d = append(d, rs[i].ts.Sub(rs[i-1].ts).Seconds())
	}
	sort.Float64s(d)
	return d[len(d)/2]
}

func formatTable(rows []row) string {
	var b strings.Builder
	b.WriteString("| Workload | Ran | Incidents raised (rule, severity) | Expected | Verdict | Onset → incident | Peak forks/5s (storm ≥ 5000) | Peak forks/1s, its busy tenths (storm ≥ 1000, ≥ 0.5) | Peak live tree (≥ 100) | Peak failures/1m of one command, median gap (≥ 5, ≥ 0.05s) | Peak short runs/15s, mean life, sustain (≥ 150, ≤ 50ms, ≥ 0.8) |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range rows {
		expected, verdict, latency := "no warning/critical", "pass", "–"
		if r.w.fault {
			expected = r.w.expect
			if r.latency < 0 {
				verdict = "FAIL"
			} else {
				latency = r.latency.Round(100 * time.Millisecond).String()
			}
		} else if len(r.serious()) > 0 {
			verdict = "FAIL"
		}
		raised := r.raised()
		if r.other > 0 {
			raised += fmt.Sprintf(" (+%d elsewhere on the host)", r.other)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %d | %d, %.1f | %d | %d, %.2fs | %d, %.1fms, %.2f |\n",
			r.w.name, r.took.Round(time.Second), raised, expected, verdict, latency,
			r.m.forks5s, r.m.forks1s, r.m.forks1sBusy, r.m.liveTree, r.m.failures1m, r.m.failInterval, r.m.short15s, r.m.shortMean*1000, r.m.shortSustain)
	}
	return b.String()
}

// sink keeps incident firings and lifecycle records.
type sink struct {
	mu   sync.Mutex
	incs []incident
	recs []rec
}

func (*sink) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (s *sink) ConsumeLogs(_ context.Context, ld plog.Logs) error {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	pdatautil.LogRecords(ld, func(_ plog.ResourceLogs, _ plog.ScopeLogs, lr plog.LogRecord) {
		a := lr.Attributes()
		switch lr.EventName() {
		case contract.EventIncident:
			inc := incident{
				rule: pdatautil.Str(a, contract.IncidentRule), severity: pdatautil.Str(a, contract.IncidentSeverity),
				state: pdatautil.Str(a, contract.IncidentState), pid: pdatautil.Int(a, contract.ProcessPID),
				ppid: pdatautil.Int(a, contract.ProcessParentPID), at: now, body: lr.Body().Str(),
			}
			if ev, ok := a.Get(contract.IncidentEvidence); ok {
				inc.evidence = ev.Map().AsRaw()
			}
			s.incs = append(s.incs, inc)
		case contract.EventFork, contract.EventExit:
			if _, thread := a.Get(contract.ThreadID); thread {
				return
			}
			r := rec{event: strings.TrimPrefix(lr.EventName(), "linnix.process."), pid: pdatautil.Int(a, contract.ProcessPID),
				ppid: pdatautil.Int(a, contract.ProcessParentPID), exe: pdatautil.Str(a, contract.ProcessExecutableName),
				code: pdatautil.Int(a, contract.ProcessExitCode), sig: pdatautil.Int(a, contract.ProcessExitSignal),
				ts: lr.Timestamp().AsTime()}
			if v, ok := a.Get(contract.ProcessLifetime); ok {
				r.life = v.Double()
			}
			if v, ok := a.Get(contract.ProcessCommandArgs); ok {
				r.args = v.AsString()
			}
			s.recs = append(s.recs, r)
		}
	})
	return nil
}

func (*sink) ConsumeMetrics(context.Context, pmetric.Metrics) error { return nil }

func (s *sink) firings() []incident {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []incident
	for _, inc := range s.incs {
		if inc.state == contract.StateFiring {
			out = append(out, inc)
		}
	}
	return out
}

func (s *sink) records() []rec {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append([]rec(nil), s.recs...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].ts.Before(out[j].ts) })
	return out
}

// processorConfig decodes the incident processor's config from YAML, as the
// collector does, and validates it.
func processorConfig(t *testing.T, doc string) *incidentprocessor.Config {
	t.Helper()
	cfg := incidentprocessor.NewFactory().CreateDefaultConfig().(*incidentprocessor.Config)
	var raw map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(doc), &raw))
	require.NoError(t, confmap.NewFromStringMap(raw).Unmarshal(cfg))
	require.NoError(t, cfg.Validate())
	return cfg
}

// startChain wires receiver → processor → sink, as tests/pipeline does,
// with a 2 s collection interval (the distribution's default is 10 s).
func startChain(t *testing.T, pcfg *incidentprocessor.Config) *sink {
	t.Helper()
	ctx := context.Background()
	s := &sink{}
	pf := incidentprocessor.NewFactory()
	pset := processortest.NewNopSettings(pf.Type())
	lp, err := pf.CreateLogs(ctx, pset, pcfg, s)
	require.NoError(t, err)
	mp, err := pf.CreateMetrics(ctx, pset, pcfg, s)
	require.NoError(t, err)
	rf := ebpfprocessreceiver.NewFactory()
	rc := rf.CreateDefaultConfig().(*ebpfprocessreceiver.Config)
	rc.CollectionInterval = 2 * time.Second
	rset := receivertest.NewNopSettings(rf.Type())
	lr, err := rf.CreateLogs(ctx, rset, rc, lp)
	require.NoError(t, err)
	mr, err := rf.CreateMetrics(ctx, rset, rc, mp)
	require.NoError(t, err)
	host := componenttest.NewNopHost()
	for _, c := range []component.Component{lp, mp, lr, mr} {
		require.NoError(t, c.Start(ctx, host))
	}
	t.Cleanup(func() {
		for _, c := range []component.Component{lr, mr, lp, mp} {
			require.NoError(t, c.Shutdown(ctx))
		}
	})
	return s
}
