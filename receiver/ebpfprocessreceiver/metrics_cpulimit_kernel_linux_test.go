package ebpfprocessreceiver

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/linnix-os/otelcol-linnix/internal/contract"

	"github.com/linnix-os/otelcol-linnix/internal/kerneltest"
)

// cpuCgroup is a cgroup capped at quota/period made for a test: on cgroup
// v2 when its root has the cpu controller, else on the v1 cpu hierarchy
// (with the cpuacct hierarchy beside it when that is mounted apart, for the
// cgroup's own usage counter). Both are removed when the test ends.
type cpuCgroup struct {
	dirs  []string // every directory a member must join
	usage func() uint64
	// throttled counts the periods in which the cgroup hit its quota.
	throttled func() uint64
}

func newCPUCgroup(t *testing.T, quota, period int) *cpuCgroup {
	t.Helper()
	name := "linnix-cpu-test-" + strconv.Itoa(os.Getpid())
	cg := &cpuCgroup{}
	mkdir := func(dir string) {
		kerneltest.Cgroup(t, dir)
		cg.dirs = append(cg.dirs, dir)
	}
	write := func(file, v string) { require.NoError(t, os.WriteFile(file, []byte(v), 0o644)) }
	if ctl, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		if !strings.Contains(" "+strings.TrimSpace(string(ctl))+" ", " cpu ") {
			t.Fatal("cgroup v2 without the cpu controller")
		}
		dir := filepath.Join("/sys/fs/cgroup", name)
		mkdir(dir)
		write(filepath.Join(dir, "cpu.max"), strconv.Itoa(quota)+" "+strconv.Itoa(period))
		stat := func(key string) uint64 { return statField(t, filepath.Join(dir, "cpu.stat"), key) }
		cg.usage = func() uint64 { return stat("usage_usec") * 1000 }
		cg.throttled = func() uint64 { return stat("nr_throttled") }
		return cg
	}
	cpu := "/sys/fs/cgroup/cpu"
	if _, err := os.Stat(filepath.Join(cpu, "cpu.cfs_quota_us")); err != nil {
		t.Fatal("no cgroup cpu controller at /sys/fs/cgroup")
	}
	dir := filepath.Join(cpu, name)
	mkdir(dir)
	// The period first: a quota is checked against the current period.
	write(filepath.Join(dir, "cpu.cfs_period_us"), strconv.Itoa(period))
	write(filepath.Join(dir, "cpu.cfs_quota_us"), strconv.Itoa(quota))
	cg.throttled = func() uint64 { return statField(t, filepath.Join(dir, "cpu.stat"), "nr_throttled") }
	acct := dir
	if _, err := os.Stat(filepath.Join(cpu, "cpuacct.usage")); err != nil {
		acct = filepath.Join("/sys/fs/cgroup/cpuacct", name)
		mkdir(acct)
	}
	cg.usage = func() uint64 {
		data, err := os.ReadFile(filepath.Join(acct, "cpuacct.usage"))
		require.NoError(t, err)
		v, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
		require.NoError(t, err)
		return v
	}
	return cg
}

func (cg *cpuCgroup) join(t *testing.T, pid int) {
	t.Helper()
	for _, dir := range cg.dirs {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644))
	}
}

func statField(t *testing.T, file, key string) uint64 {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), " "); ok && k == key {
			n, err := strconv.ParseUint(v, 10, 64)
			require.NoError(t, err)
			return n
		}
	}
	t.Fatalf("%s has no %s", file, key)
	return 0
}

// TestCPULimitUtilizationOfAThrottledChild caps a cgroup at half a CPU,
// moves a spinning child in, and requires linnix.cgroup.cpu.limit = 0.5 on
// its resource and a limit utilization that agrees with the cgroup's own
// CPU usage counter over the same interval: 1.0 when it burns its quota.
func TestCPULimitUtilizationOfAThrottledChild(t *testing.T) {
	const quota, period, limit = 50_000, 100_000, 0.5
	r := startMetrics(t)
	cg := newCPUCgroup(t, quota, period)
	child := startChild(t, "spin")
	pid := child.Process.Pid
	cg.join(t, pid)

	require.Eventually(t, func() bool {
		md, err := r.coll.collect()
		require.NoError(t, err)
		res := resourceOf(md, pid)
		return res != nil && res[contract.CgroupCPULimit] == limit
	}, 10*time.Second, 100*time.Millisecond, "the child's resource carries its cgroup's CPU limit")

	// Bracket each collection with the cgroup's usage and the boot clock:
	// the receiver's interval lies inside the outer reads and contains the
	// inner ones, so its rate lies between the two ratios.
	ta0, ua0, thr0 := bootNow(), cg.usage(), cg.throttled()
	_, err := r.coll.collect()
	require.NoError(t, err)
	ta1, ua1 := bootNow(), cg.usage()
	time.Sleep(3 * time.Second)
	tb0, ub0 := bootNow(), cg.usage()
	md, err := r.coll.collect()
	require.NoError(t, err)
	tb1, ub1, thr1 := bootNow(), cg.usage(), cg.throttled()

	pts := pointsOf(md, pid)
	require.Contains(t, pts, contract.MetricCPULimitUtilization)
	got := pts[contract.MetricCPULimitUtilization][""]
	cores := pts["linnix.process.cpu.cores"][""]
	lo := float64(ub0-ua1) / float64(tb1-ta0) / limit
	hi := float64(ub1-ua0) / float64(tb0-ta1) / limit
	t.Logf("limit utilization %.3f (cores %.3f); the cgroup's usage gives %.3f..%.3f; throttled in %d periods",
		got, cores, lo, hi, thr1-thr0)
	assert.InDelta(t, cores/limit, got, 1e-9)
	// The spinner is the cgroup's only process; its Go runtime threads are
	// in the count on both sides.
	assert.GreaterOrEqual(t, got, lo*0.98)
	assert.LessOrEqual(t, got, hi*1.02)
	// When the cgroup's own counter says the spinner used its whole quota
	// (a busy machine may not give it that much), it reads 1.0.
	if lo >= 0.95 {
		assert.InDelta(t, 1.0, got, 0.05)
	}
}
