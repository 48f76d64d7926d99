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

	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver/internal/metadata"
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
	case "spin200ms":
		spin(200 * time.Millisecond)
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
	return rcv.(*ebpfReceiver)
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

// procStatCPU reads utime+stime of /proc/PID/stat in seconds.
func procStatCPU(t *testing.T, pid int) float64 {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	require.NoError(t, err)
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100 // USER_HZ
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

func TestCPUMetricsOfASpinningChild(t *testing.T) {
	r := startMetrics(t)
	child := startChild(t, "spin")
	pid := child.Process.Pid
	time.Sleep(300 * time.Millisecond)
	collectNow(t, r)
	time.Sleep(3 * time.Second)
	md := collectNow(t, r)
	procCPU := procStatCPU(t, pid)

	pts := pointsOf(md, pid)
	require.NotEmpty(t, pts, "no metrics for the spinning child")
	cores := pts["linnix.process.cpu.cores"][""]
	assert.GreaterOrEqual(t, cores, 0.85, "one spinning thread")
	assert.LessOrEqual(t, cores, 1.05, "one spinning thread")
	cpuTime := pts["process.cpu.time"]["user"] + pts["process.cpu.time"]["system"]
	t.Logf("cores %.3f, cpu time %.3fs (/proc %.3fs)", cores, cpuTime, procCPU)
	assert.InEpsilon(t, procCPU, cpuTime, 0.05, "process.cpu.time vs /proc utime+stime")
	util := pts["process.cpu.utilization"]["user"] + pts["process.cpu.utilization"]["system"]
	assert.InEpsilon(t, cores/r.coll.numCPU, util, 0.01, "utilization is cores divided by CPUs")
	assert.Greater(t, pts["process.uptime"][""], 3.0)
	assert.Equal(t, procStatus(t, pid, "Threads"), pts["process.thread.count"][""])
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

	pid := child.Process.Pid
	md := collectNow(t, r)
	rss := procStatus(t, pid, "VmRSS")
	pts := pointsOf(md, pid)
	t.Logf("memory.usage %.0f, VmRSS %.0f", pts["process.memory.usage"][""], rss)
	assert.GreaterOrEqual(t, rss, float64(256<<20))
	assert.InEpsilon(t, rss, pts["process.memory.usage"][""], 0.05, "process.memory.usage vs VmRSS")
	assert.InEpsilon(t, procStatus(t, pid, "VmSize"), pts["process.memory.virtual"][""], 0.05, "process.memory.virtual vs VmSize")
	assert.Equal(t, procStatus(t, pid, "Threads"), pts["process.thread.count"][""])
	assert.Greater(t, pts["process.paging.faults"]["minor"], float64(256<<20/os.Getpagesize())*0.9, "touching 256 MiB faults every page")
}

func TestShortLivedProcessBetweenSamplesIsReported(t *testing.T) {
	r := startMetrics(t)
	collectNow(t, r)
	child := startChild(t, "spin200ms")
	require.NoError(t, child.Wait())
	pid := child.Process.Pid
	// The exit record reaches the collector through the lifecycle path.
	var pts map[string]map[string]float64
	require.Eventually(t, func() bool {
		r.coll.mu.Lock()
		defer r.coll.mu.Unlock()
		for _, e := range r.coll.exited {
			if int(e.pid) == pid {
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond)
	pts = pointsOf(collectNow(t, r), pid)
	cpuTime := pts["process.cpu.time"]["user"] + pts["process.cpu.time"]["system"]
	t.Logf("exited child: cpu time %.3fs, cores %.3f", cpuTime, pts["linnix.process.cpu.cores"][""])
	assert.Greater(t, cpuTime, 0.15, "a 200 ms spin must show its CPU time")
	assert.Less(t, cpuTime, 1.0)
	// Over its whole life, start-up included.
	assert.Greater(t, pts["linnix.process.cpu.cores"][""], 0.0)
	assert.LessOrEqual(t, pts["linnix.process.cpu.cores"][""], 1.05)
	assert.NotContains(t, pts, "process.memory.usage", "an exited process has no memory")
}

func TestHostMetrics(t *testing.T) {
	r := startMetrics(t)
	for i := 0; i < 5; i++ {
		require.NoError(t, exec.Command("/bin/true").Run())
	}
	require.Eventually(t, func() bool { return r.coll.created.Load() >= 5 }, 10*time.Second, 20*time.Millisecond)
	md := collectNow(t, r)
	var created, count int64
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		if _, isProc := rms.At(i).Resource().Attributes().Get("process.pid"); isProc {
			continue
		}
		ms := rms.At(i).ScopeMetrics().At(0).Metrics()
		for j := 0; j < ms.Len(); j++ {
			m := ms.At(j)
			switch m.Name() {
			case "system.process.created":
				created = m.Sum().DataPoints().At(0).IntValue()
			case "system.process.count":
				for k := 0; k < m.Sum().DataPoints().Len(); k++ {
					count += m.Sum().DataPoints().At(k).IntValue()
				}
			}
		}
	}
	assert.GreaterOrEqual(t, created, int64(5))
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	procs := 0
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err == nil {
			procs++
		}
	}
	assert.InDelta(t, procs, count, float64(procs)/10+5, "system.process.count vs /proc")
}
