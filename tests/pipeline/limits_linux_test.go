package pipeline

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
)

// TestKernelOOMLoopIsOneIncidentWithACount runs a child that touches
// memory past its cgroup's 128 MiB limit three times over: the kernel's
// OOM killer ends each run, and the built-in oom_kill rule reports one
// incident naming the last victim and the limit, with a count of 3, which
// resolves after its (shortened) quiet window.
func TestKernelOOMLoopIsOneIncidentWithACount(t *testing.T) {
	const limit = 128 << 20
	s := startChain(t, processorConfig(t, `
evaluation_interval: 200ms
rules:
  - name: oom_kill      # the built-in, quiet for 10s instead of 10m
    window: 10s
`), nil)
	dirs := testCgroup(t, "memory",
		[][2]string{{"memory.max", strconv.Itoa(limit)}},
		[][2]string{{"memory.limit_in_bytes", strconv.Itoa(limit)}})
	var victims []int64
	for range 3 {
		cmd := startInCgroup(t, "hog", dirs, 0)
		err := cmd.Wait()
		require.Error(t, err, "the hog outlived its limit")
		ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
		require.True(t, ws.Signaled() && ws.Signal() == syscall.SIGKILL, "the hog ended by %v, not the OOM killer's SIGKILL", cmd.ProcessState)
		victims = append(victims, int64(cmd.Process.Pid))
	}
	// Ground truth: the kernel's own count of OOM kills in the cgroup.
	assert.Equal(t, 3, oomKills(t, dirs[0]), "OOM kills in %s", dirs[0])

	exe := filepath.Base(os.Args[0])
	mine := func() []map[string]any {
		var out []map[string]any
		for _, m := range s.of("oom_kill") {
			if m[contract.ProcessExecutableName] == exe {
				out = append(out, m)
			}
		}
		return out
	}
	require.Eventually(t, func() bool {
		got := mine()
		return len(got) > 0 && got[len(got)-1][contract.IncidentState] == contract.StateResolved
	}, 45*time.Second, 200*time.Millisecond, "oom_kill resolved; incidents: %v", s.all())

	got := mine()
	var states []any
	for _, m := range got {
		states = append(states, m[contract.IncidentState])
		assert.Equal(t, got[0][contract.IncidentID], m[contract.IncidentID], "one incident")
		assert.Equal(t, contract.SeverityCritical, m[contract.IncidentSeverity])
	}
	// Fired at the first kill, repeated at the second (the count doubled),
	// resolved with all three.
	assert.Equal(t, []any{contract.StateFiring, contract.StateFiring, contract.StateResolved}, states)
	last := got[len(got)-1]
	ev := last[contract.IncidentEvidence].(map[string]any)
	assert.Equal(t, int64(3), ev["kills"])
	assert.Equal(t, float64(limit), ev["memory_limit_bytes"])
	// Resident memory at the kill: about the limit. RSS also counts the
	// mapped pages of the binary (file-backed; here ~30 MiB) that the
	// cgroup need not have been charged for, so it may exceed the limit.
	assert.Greater(t, ev["rss_bytes"], float64(limit)/2, "resident memory at the kill")
	assert.Less(t, ev["rss_bytes"], float64(limit)*3/2, "resident memory at the kill")
	assert.Equal(t, victims[2], last[contract.ProcessPID], "the last victim")
	assert.Contains(t, last[contract.ProcessLinuxCgroup], filepath.Base(dirs[0]))
	assert.Regexp(t, regexp.MustCompile(`pid `+strconv.FormatInt(victims[2], 10)+` was OOM-killed \(3 kills\) in cgroup .*, limit 128 MiB$`), last["body"])
	t.Logf("oom_kill: %s", last["body"])
}

// oomKills reads the kernel's count of OOM kills in a memory cgroup: v2
// memory.events, v1 memory.oom_control.
func oomKills(t *testing.T, dir string) int {
	t.Helper()
	for _, f := range []string{"memory.events", "memory.oom_control"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			continue
		}
		if m := regexp.MustCompile(`(?m)^oom_kill (\d+)$`).FindSubmatch(data); m != nil {
			n, err := strconv.Atoi(string(m[1]))
			require.NoError(t, err)
			return n
		}
	}
	t.Fatalf("no oom_kill count in %s", dir)
	return 0
}

// TestKernelCappedSpinnerYieldsCPULimitSaturated runs a CPU burner in a
// cgroup capped at 0.5 CPU: it burns all of its quota, which is half a
// core, so cpu_spin (0.95 cores) must stay quiet while
// cpu_limit_saturated names it and its limit.
func TestKernelCappedSpinnerYieldsCPULimitSaturated(t *testing.T) {
	s := startChain(t, processorConfig(t, `
evaluation_interval: 200ms
rules:
  # The built-ins, holding 5s instead of 3m; the threshold at half the
  # quota, so that the test does not hang on how much of its half core a
  # loaded machine gives the burner (the kernel caps it either way).
  - name: cpu_limit_saturated
    for: 5s
    value: 0.5
  - name: cpu_spin
    for: 5s
`), nil)
	// The highest weight, so that the cgroup does get its half core on a
	// busy shared host (load 20 here at times): the rule is about a
	// process held by its limit, not by other processes.
	dirs := testCgroup(t, "cpu",
		[][2]string{{"cpu.max", "50000 100000"}, {"cpu.weight", "10000"}},
		[][2]string{{"cpu.cfs_period_us", "100000"}, {"cpu.cfs_quota_us", "50000"}, {"cpu.shares", "262144"}})
	began := time.Now()
	pid := int64(startInCgroup(t, "burn", dirs, -15).Process.Pid)
	var got map[string]any
	if !assert.Eventually(t, func() bool {
		for _, m := range s.of("cpu_limit_saturated") {
			if m[contract.ProcessPID] == pid && m[contract.IncidentState] == contract.StateFiring {
				got = m
				return true
			}
		}
		return false
	}, 60*time.Second, 200*time.Millisecond, "cpu_limit_saturated naming the burner") {
		cgroup, _ := os.ReadFile("/proc/" + strconv.FormatInt(pid, 10) + "/cgroup")
		values, resource := s.metricsOf(pid)
		t.Fatalf("the burner's %s: %v\nits latest metrics: %v\nits resource: %v\n/proc/%d/cgroup:\n%s\nincidents: %v",
			contract.MetricCPULimitUtilization, s.series(pid, contract.MetricCPULimitUtilization), values, resource, pid, cgroup, s.all())
	}
	// Ground truth: the burner's CPU per /proc, against its 0.5-CPU limit.
	cores := procCPUSeconds(t, int(pid)) / time.Since(began).Seconds()
	ev := got[contract.IncidentEvidence].(map[string]any)
	assert.Equal(t, 0.5, ev["cpu_limit_cores"])
	// The reported share is of the last interval, not the lifetime
	// average: it is at least the rule's threshold, and the kernel's cap
	// keeps it at most the whole quota (with the sampling's jitter).
	share, _ := ev[contract.MetricCPULimitUtilization].(float64)
	assert.GreaterOrEqual(t, share, 0.5, "reported share of the limit")
	assert.LessOrEqual(t, share, 1.1, "reported share of the limit: the quota caps it")
	assert.LessOrEqual(t, cores, 0.6, "the cap holds the burner to half a core")
	// Ground truth that the limit held it: the kernel throttled the cgroup.
	stat, err := os.ReadFile(filepath.Join(dirs[0], "cpu.stat"))
	require.NoError(t, err)
	throttled := regexp.MustCompile(`(?m)^nr_throttled (\d+)$`).FindSubmatch(stat)
	require.NotNil(t, throttled, "cpu.stat: %s", stat)
	assert.NotEqual(t, "0", string(throttled[1]), "periods in which the cgroup hit its quota")
	assert.Contains(t, got["body"], "of its 0.5-CPU limit for 5s")
	for _, m := range s.of("cpu_spin") {
		assert.NotEqual(t, pid, m[contract.ProcessPID], "cpu_spin on a process capped at half a core: %s", m["body"])
	}
	t.Logf("cpu_limit_saturated: %s (/proc: %.2f cores)", got["body"], cores)
}
