package ebpfprocessreceiver

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"golang.org/x/sys/unix"

	"github.com/linnix-os/otelcol-linnix/bpf"
	"github.com/linnix-os/otelcol-linnix/internal/contract"
	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver/internal/metadata"
	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver/internal/proctable"
)

// The accuracy tests run children made from this test binary (the
// TestHelperProcess pattern) and compare the kernel-sampled metrics with
// what /proc reports at the same moment.

const childEnv = "LINNIX_TEST_CHILD"

func TestHelperProcess(t *testing.T) {
	switch os.Getenv(childEnv) {
	case "":
		t.Skip("only runs as a child of the accuracy tests")
	case "spin":
		spin(time.Hour)
	case "spincpu200ms":
		spinCPU(200 * time.Millisecond)
	case "sleep":
		time.Sleep(time.Hour)
	case "mem256":
		buf := make([]byte, 256<<20)
		for i := 0; i < len(buf); i += os.Getpagesize() {
			buf[i] = 1
		}
		os.Stdout.WriteString("ready\n")
		time.Sleep(time.Hour)
		buf[0]++
	}
	os.Exit(0)
}

var sink int

func spin(d time.Duration) {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		for i := 0; i < 1e6; i++ {
			sink += i
		}
	}
}

// spinCPU spins until the process has used d of CPU time, however long the
// machine takes to give it that: the workload's own count, not a share of
// the machine.
func spinCPU(d time.Duration) {
	for {
		var ts unix.Timespec
		if err := unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &ts); err != nil || ts.Nano() >= d.Nanoseconds() {
			return
		}
		for i := 0; i < 1e5; i++ {
			sink += i
		}
	}
}

func startChild(t *testing.T, mode string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// startMetrics starts the receiver in a metrics pipeline whose ticker never
// fires during the test: the test calls collect itself, at known moments.
func startMetrics(t testing.TB) *ebpfReceiver {
	t.Helper()
	requireKernel(t)
	cfg := createDefaultConfig().(*Config)
	cfg.CollectionInterval = time.Hour
	cfg.TopN = 0
	set := receivertest.NewNopSettings(metadata.Type)
	rcv, err := NewFactory().CreateMetrics(context.Background(), set, cfg, new(consumertest.MetricsSink))
	require.NoError(t, err)
	require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, rcv.Shutdown(context.Background())) })
	return receiverOf(rcv)
}

// pointsOf returns the data points of pid's resource, by metric name and
// attribute value ("" when the point has none).
func pointsOf(md pmetric.Metrics, pid int) map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		rm := md.ResourceMetrics().At(i)
		v, ok := rm.Resource().Attributes().Get("process.pid")
		if !ok || v.Int() != int64(pid) {
			continue
		}
		ms := rm.ScopeMetrics().At(0).Metrics()
		for j := 0; j < ms.Len(); j++ {
			m := ms.At(j)
			var dps pmetric.NumberDataPointSlice
			switch m.Type() {
			case pmetric.MetricTypeGauge:
				dps = m.Gauge().DataPoints()
			case pmetric.MetricTypeSum:
				dps = m.Sum().DataPoints()
			}
			out[m.Name()] = map[string]float64{}
			for k := 0; k < dps.Len(); k++ {
				dp := dps.At(k)
				key := ""
				dp.Attributes().Range(func(_ string, v pcommon.Value) bool { key = v.AsString(); return false })
				val := dp.DoubleValue()
				if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
					val = float64(dp.IntValue())
				}
				out[m.Name()][key] = val
			}
		}
	}
	return out
}

// userHZ is the unit of /proc/PID/stat times (USER_HZ, 100 on every
// architecture Linux exports it on). utime and stime are each truncated to
// it, so their sum reads up to procTrunc seconds low.
const (
	userHZ    = 100
	procTrunc = 2.0 / userHZ
)

// procStatField reads field n (1-based, as proc(5) numbers them) of
// /proc/PID/stat. The command name (field 2) may hold spaces, so fields are
// counted after its last ')'.
func procStatField(t *testing.T, pid, n int) float64 {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	require.NoError(t, err)
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	v, err := strconv.ParseFloat(fields[n-3], 64)
	require.NoError(t, err)
	return v
}

// procStatCPU reads utime+stime (fields 14 and 15) of /proc/PID/stat in
// seconds: the thread group's CPU time, truncated to USER_HZ ticks.
func procStatCPU(t *testing.T, pid int) float64 {
	t.Helper()
	return (procStatField(t, pid, 14) + procStatField(t, pid, 15)) / userHZ
}

// procStatus reads a numeric field of /proc/PID/status (kB values in bytes).
func procStatus(t *testing.T, pid int, field string) float64 {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	require.NoError(t, err)
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(rest)
			v, err := strconv.ParseFloat(f[0], 64)
			require.NoError(t, err)
			if len(f) > 1 && f[1] == "kB" {
				v *= 1024
			}
			return v
		}
	}
	t.Fatalf("%s not in /proc/%d/status", field, pid)
	return 0
}

func collectNow(t *testing.T, r *ebpfReceiver) pmetric.Metrics {
	t.Helper()
	md, err := r.coll.collect()
	require.NoError(t, err)
	return md
}

// schedStale bounds how far behind the CPU time the task iterator reads
// (se.sum_exec_runtime, brought up to date at scheduler ticks and switches)
// may be on a task running on another CPU: one scheduler tick, 10 ms at
// CONFIG_HZ=100, the slowest.
const schedStale = 0.010

// TestCPUMetricsOfASpinningChild compares what we report for a spinning
// child with /proc over the same interval. It assumes nothing about the
// share of a CPU the child gets: on a loaded machine it may get little, and
// both sides must still agree. Each collection is bracketed by /proc reads,
// so /proc's CPU time for the interval lies between after1→before2 and
// before1→after2; each bound is widened by procTrunc per read (/proc
// truncates utime and stime to USER_HZ ticks) and by schedStale per sample.
func TestCPUMetricsOfASpinningChild(t *testing.T) {
	r := startMetrics(t)
	child := startChild(t, "spin")
	pid := child.Process.Pid // Start returns once the exec is done

	before1 := procStatCPU(t, pid)
	collectNow(t, r)
	at1 := r.coll.lastAt
	after1 := procStatCPU(t, pid)
	time.Sleep(2 * time.Second)
	threadsBefore := procStatus(t, pid, "Threads")
	before2 := procStatCPU(t, pid)
	md := collectNow(t, r)
	at2 := r.coll.lastAt
	after2 := procStatCPU(t, pid)
	threadsAfter := procStatus(t, pid, "Threads")

	pts := pointsOf(md, pid)
	require.NotEmpty(t, pts, "no metrics for the spinning child")
	require.Contains(t, pts, "linnix.process.cpu.cores", "the child was sampled twice, so it has a rate")
	cores := pts["linnix.process.cpu.cores"][""]
	interval := float64(at2-at1) / 1e9
	ours := cores * interval // CPU seconds in the interval, as we report them
	slack := 2*procTrunc + 2*schedStale
	lo, hi := before2-after1-slack, after2-before1+slack
	t.Logf("interval %.3fs: ours %.3f CPU s (%.3f cores), /proc %.3f..%.3f CPU s (%.3f..%.3f cores), tolerance ±%.0f ms",
		interval, ours, cores, before2-after1, after2-before1, (before2-after1)/interval, (after2-before1)/interval, slack*1e3)
	assert.GreaterOrEqual(t, ours, lo, "CPU time in the interval vs /proc")
	assert.LessOrEqual(t, ours, hi, "CPU time in the interval vs /proc")

	cpuTime := pts["process.cpu.time"]["user"] + pts["process.cpu.time"]["system"]
	t.Logf("cumulative cpu time %.3fs, /proc %.3f..%.3fs", cpuTime, before2, after2)
	assert.GreaterOrEqual(t, cpuTime, before2-schedStale, "process.cpu.time vs /proc utime+stime")
	assert.LessOrEqual(t, cpuTime, after2+procTrunc, "process.cpu.time vs /proc utime+stime")

	util := pts["process.cpu.utilization"]["user"] + pts["process.cpu.utilization"]["system"]
	assert.InEpsilon(t, cores/r.coll.numCPU, util, 0.01, "utilization is cores divided by CPUs")
	// The child was alive for the whole interval, and started before it.
	assert.GreaterOrEqual(t, pts["process.uptime"][""], interval)
	assert.Contains(t, []float64{threadsBefore, threadsAfter}, pts["process.thread.count"][""], "thread count vs /proc")
}

func TestMemoryMetricsOfAGrowingChild(t *testing.T) {
	r := startMetrics(t)
	child := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	child.Env = append(os.Environ(), childEnv+"=mem256")
	out, err := child.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, child.Start())
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	buf := make([]byte, 6)
	_, err = out.Read(buf)
	require.NoError(t, err)
	require.Equal(t, "ready\n", string(buf))

	// The child sleeps once ready, so /proc read right after the sample is
	// ground truth; the tolerances cover the Go runtime's own activity.
	pid := child.Process.Pid
	md := collectNow(t, r)
	rss := procStatus(t, pid, "VmRSS")
	minflt := procStatField(t, pid, 10)
	pts := pointsOf(md, pid)
	t.Logf("memory.usage %.0f, VmRSS %.0f; minor faults %.0f, /proc %.0f", pts["process.memory.usage"][""], rss, pts["process.paging.faults"]["minor"], minflt)
	assert.InEpsilon(t, rss, pts["process.memory.usage"][""], 0.05, "process.memory.usage vs VmRSS")
	assert.InEpsilon(t, procStatus(t, pid, "VmSize"), pts["process.memory.virtual"][""], 0.05, "process.memory.virtual vs VmSize")
	assert.Equal(t, procStatus(t, pid, "Threads"), pts["process.thread.count"][""])
	// Transparent huge pages may fault 2 MiB at a time, so the count is
	// /proc's, not the number of pages touched.
	assert.InEpsilon(t, minflt, pts["process.paging.faults"]["minor"], 0.05, "minor faults vs /proc/PID/stat minflt")
	assert.Equal(t, procStatField(t, pid, 12), pts["process.paging.faults"]["major"], "major faults vs /proc/PID/stat majflt")
}

// TestShortLivedProcessBetweenSamplesIsReported runs a child that uses
// 200 ms of CPU and exits between two samples; its CPU time must match what
// wait4(2) reports for it. The tolerance is schedStale (the exit record is
// taken before the last of the exit path runs) plus 1%.
func TestShortLivedProcessBetweenSamplesIsReported(t *testing.T) {
	r := startMetrics(t)
	collectNow(t, r)
	started := time.Now()
	child := startChild(t, "spincpu200ms")
	require.NoError(t, child.Wait())
	wall := time.Since(started).Seconds()
	pid := child.Process.Pid
	rusage := (child.ProcessState.UserTime() + child.ProcessState.SystemTime()).Seconds()
	// The exit record reaches the collector through the lifecycle path.
	var rec exitedProcess
	require.Eventually(t, func() bool {
		r.coll.mu.Lock()
		defer r.coll.mu.Unlock()
		for _, e := range r.coll.exited {
			if int(e.pid) == pid {
				rec = e
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond)
	pts := pointsOf(collectNow(t, r), pid)
	cpuTime := pts["process.cpu.time"]["user"] + pts["process.cpu.time"]["system"]
	cores := pts["linnix.process.cpu.cores"][""]
	lifetime := float64(rec.at-rec.start) / 1e9
	t.Logf("exited child: cpu time %.3fs (wait4 %.3fs), cores %.3f over %.3fs (at least %.3f over the %.3fs wall time around it)",
		cpuTime, rusage, cores, lifetime, rusage/wall, wall)
	assert.GreaterOrEqual(t, rusage, 0.2, "the child spins until its own CPU clock reads 200 ms")
	assert.InDelta(t, rusage, cpuTime, schedStale+0.01*rusage, "process.cpu.time vs wait4 rusage")
	assert.NotContains(t, pts, "process.memory.usage", "an exited process has no memory")
	// Over its whole life, start-up included: the CPU time over the time
	// from its start to its exit record, which lie within the wall time
	// the test measured around it.
	assert.InEpsilon(t, cpuTime/lifetime, cores, 1e-6, "cores is CPU time over lifetime")
	assert.LessOrEqual(t, lifetime, wall, "lifetime within the wall time around the child")
	assert.GreaterOrEqual(t, cores, (rusage-schedStale)/wall, "cores vs wait4 rusage over wall time")
	for _, cd := range r.coll.cands[:cap(r.coll.cands)] {
		require.Nil(t, cd.exited, "the candidates kept for reuse hold no exited process, which would keep its collection's exits alive")
	}
}

// hostPoints returns the data points of the host's resource (the one
// without process.pid), summed over attributes, by metric name.
func hostPoints(t *testing.T, md pmetric.Metrics) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		res := rms.At(i).Resource().Attributes()
		if _, isProc := res.Get(contract.ProcessPID); isProc {
			continue
		}
		assert.Equal(t, 1, res.Len(), "the host's resource carries host.name only: %v", res.AsRaw())
		ms := rms.At(i).ScopeMetrics().At(0).Metrics()
		for j := 0; j < ms.Len(); j++ {
			m := ms.At(j)
			require.Equal(t, pmetric.MetricTypeSum, m.Type(), m.Name())
			for k := 0; k < m.Sum().DataPoints().Len(); k++ {
				out[m.Name()] += m.Sum().DataPoints().At(k).IntValue()
			}
		}
	}
	return out
}

// TestHostMetrics compares the host's metrics with their ground truth: the
// fork count with the children the test started, the process count with
// /proc, the memory metrics with /proc/meminfo read just before and just
// after the collection. MemTotal never changes; MemAvailable may move
// between the reads, so it must lie in the range the reads span, widened by
// that same movement (about as much again may happen on either side) and by
// 4 MiB for a change that came and went between them.
func TestHostMetrics(t *testing.T) {
	r := startMetrics(t)
	for i := 0; i < 5; i++ {
		require.NoError(t, exec.Command("/bin/true").Run())
	}
	require.Eventually(t, func() bool { return r.coll.created.Load() >= 5 }, 10*time.Second, 20*time.Millisecond)
	// Ground truth read here, not through the receiver's own parser.
	availBefore := meminfoBytes(t, "MemAvailable")
	md := collectNow(t, r)
	availAfter := meminfoBytes(t, "MemAvailable")
	got := hostPoints(t, md)

	assert.GreaterOrEqual(t, got[contract.MetricProcessCreated], int64(5))
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	procs := 0
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err == nil {
			procs++
		}
	}
	assert.InDelta(t, procs, got[contract.MetricProcessCount], float64(procs)/10+5, "system.process.count vs /proc")

	var si unix.Sysinfo_t
	require.NoError(t, unix.Sysinfo(&si))
	// sysinfo(2) counts bytes, /proc/meminfo whole kB: they agree within 1 kB.
	assert.InDelta(t, int64(si.Totalram)*int64(si.Unit), got[contract.MetricMemoryLimit], 1024, "system.memory.limit vs sysinfo(2) totalram")
	moved := max(availBefore, availAfter) - min(availBefore, availAfter) + 4<<20
	lo := min(availBefore, availAfter) - moved
	hi := max(availBefore, availAfter) + moved
	avail := got[contract.MetricMemoryAvailable]
	t.Logf("MemTotal %d; available %d, /proc %d..%d", got[contract.MetricMemoryLimit], avail, availBefore, availAfter)
	assert.GreaterOrEqual(t, avail, lo, "system.linux.memory.available vs MemAvailable")
	assert.LessOrEqual(t, avail, hi, "system.linux.memory.available vs MemAvailable")
}

// meminfoBytes reads one field of /proc/meminfo in bytes.
func meminfoBytes(t *testing.T, field string) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/meminfo")
	require.NoError(t, err)
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			require.NoError(t, err)
			return kb * 1024
		}
	}
	t.Fatalf("no %s in /proc/meminfo", field)
	return 0
}

// The exits kept for the next collection are bounded; those past the bound
// are counted, and each collection takes the count of its own. The host's
// own exits may add to the counts, never take from them.
func TestExitsBetweenCollectionsAreBounded(t *testing.T) {
	r := startMetrics(t)
	collectNow(t, r)
	e := bpf.Event{Type: bpf.EventExit, PID: 4_000_000, TID: 4_000_000, StartTime: 1}
	for range maxExited + 5 {
		r.coll.noteExit(&e, proctable.Info{})
	}
	r.coll.mu.Lock()
	assert.Len(t, r.coll.exited, maxExited)
	assert.GreaterOrEqual(t, r.coll.exitsOver, 5)
	r.coll.mu.Unlock()
	collectNow(t, r)
	assert.GreaterOrEqual(t, r.coll.over, 5)
	collectNow(t, r)
	assert.Zero(t, r.coll.over)
}
