package pipeline

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
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

const childEnv = "LINNIX_PIPELINE_CHILD"

// TestHelperProcess is the workload the tests spawn as a child.
func TestHelperProcess(t *testing.T) {
	switch os.Getenv(childEnv) {
	case "":
		t.Skip("only runs as a child of the kernel tests")
	case "burn":
		for end := time.Now().Add(time.Hour); time.Now().Before(end); {
		}
	case "grow":
		// +20 MiB of touched memory a second, up to 1 GiB.
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
	case "hog":
		// Touches memory until its cgroup's limit has the OOM killer end it.
		var held [][]byte
		for {
			b := make([]byte, 4<<20)
			for j := 0; j < len(b); j += 4096 {
				b[j] = 1
			}
			held = append(held, b)
			time.Sleep(5 * time.Millisecond)
		}
	}
	os.Exit(0)
}

func startChild(t *testing.T, mode string) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd.Process.Pid
}

// sink keeps incident records as attribute maps, and every lifecycle and
// metric batch for the tests that read them.
type sink struct {
	mu        sync.Mutex
	incidents []map[string]any
	logs      []plog.Logs
	metrics   []pmetric.Metrics
}

func (*sink) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (s *sink) ConsumeLogs(_ context.Context, ld plog.Logs) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	pdatautil.LogRecords(ld, func(_ plog.ResourceLogs, _ plog.ScopeLogs, lr plog.LogRecord) {
		if lr.EventName() == contract.EventIncident {
			m := lr.Attributes().AsRaw()
			m["body"] = lr.Body().Str()
			m["time"] = lr.Timestamp().AsTime()
			s.incidents = append(s.incidents, m)
		}
	})
	s.logs = append(s.logs, ld)
	return nil
}

func (s *sink) ConsumeMetrics(_ context.Context, md pmetric.Metrics) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.metrics = append(s.metrics, md)
	return nil
}

// of returns the incidents of one rule.
func (s *sink) of(rule string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, m := range s.incidents {
		if m[contract.IncidentRule] == rule {
			out = append(out, m)
		}
	}
	return out
}

func (s *sink) all() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.incidents...)
}

// metricsOf is the latest value of each metric received for a process,
// and its resource attributes: what a failed rule had to go on.
func (s *sink) metricsOf(pid int64) (values map[string]float64, resource map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	values = map[string]float64{}
	for _, md := range s.metrics {
		for i := 0; i < md.ResourceMetrics().Len(); i++ {
			rm := md.ResourceMetrics().At(i)
			if pdatautil.Int(rm.Resource().Attributes(), contract.ProcessPID) != pid {
				continue
			}
			resource = rm.Resource().Attributes().AsRaw()
			for j := 0; j < rm.ScopeMetrics().Len(); j++ {
				ms := rm.ScopeMetrics().At(j).Metrics()
				for k := 0; k < ms.Len(); k++ {
					if dps := pdatautil.NumberPoints(ms.At(k)); dps.Len() > 0 {
						values[ms.At(k).Name()] = pdatautil.PointValue(dps.At(dps.Len() - 1))
					}
				}
			}
		}
	}
	return values, resource
}

// series is every value of one metric received for a process, in order.
func (s *sink) series(pid int64, metric string) []float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []float64
	for _, md := range s.metrics {
		for i := 0; i < md.ResourceMetrics().Len(); i++ {
			rm := md.ResourceMetrics().At(i)
			if pdatautil.Int(rm.Resource().Attributes(), contract.ProcessPID) != pid {
				continue
			}
			for j := 0; j < rm.ScopeMetrics().Len(); j++ {
				ms := rm.ScopeMetrics().At(j).Metrics()
				for k := 0; k < ms.Len(); k++ {
					if ms.At(k).Name() != metric {
						continue
					}
					dps := pdatautil.NumberPoints(ms.At(k))
					for d := 0; d < dps.Len(); d++ {
						out = append(out, pdatautil.PointValue(dps.At(d)))
					}
				}
			}
		}
	}
	return out
}

// lifecycle calls fn for every lifecycle record received so far.
func (s *sink) lifecycle(fn func(lr plog.LogRecord)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ld := range s.logs {
		pdatautil.LogRecords(ld, func(_ plog.ResourceLogs, _ plog.ScopeLogs, lr plog.LogRecord) {
			if strings.HasPrefix(lr.EventName(), "linnix.process.") {
				fn(lr)
			}
		})
	}
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

// startChain wires receiver → processor → sink for logs and metrics; rcfg
// may adjust the receiver's default config.
func startChain(t *testing.T, pcfg *incidentprocessor.Config, rcfg func(*ebpfprocessreceiver.Config)) *sink {
	t.Helper()
	kerneltest.Require(t)
	kerneltest.Exclusive(t)
	return startLockedChain(t, pcfg, rcfg)
}

// startLockedChain is startChain for a test that already holds the
// host-wide lock (it measured the machine first).
func startLockedChain(t *testing.T, pcfg *incidentprocessor.Config, rcfg func(*ebpfprocessreceiver.Config)) *sink {
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
	rc.CollectionInterval = time.Second
	if rcfg != nil {
		rcfg(rc)
	}
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

// procCPUSeconds is a process's utime+stime from /proc/PID/stat: the ground
// truth our CPU figures are compared with.
func procCPUSeconds(t *testing.T, pid int) float64 {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	require.NoError(t, err)
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, err := strconv.ParseFloat(fields[11], 64)
	require.NoError(t, err)
	stime, err := strconv.ParseFloat(fields[12], 64)
	require.NoError(t, err)
	return (utime + stime) / 100 // USER_HZ is 100 on Linux
}

// procRSS is a process's VmRSS in bytes.
func procRSS(t *testing.T, pid int) float64 {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	require.NoError(t, err)
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			require.NoError(t, err)
			return kb * 1024
		}
	}
	t.Fatalf("no VmRSS for pid %d", pid)
	return 0
}
