package incidentprocessor

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/linnix-os/otelcol-linnix/internal/kerneltest"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/metadata"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/rules"
	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver"
)

// These tests run the real receiver into the real processor: BPF programs
// loaded, real processes spawned, incidents read from a sink.

const childEnv = "LINNIX_INCIDENT_CHILD"

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

// incidentSink collects incident records as they arrive.
type incidentSink struct {
	consumertest.LogsSink
	mu   sync.Mutex
	seen []map[string]any
}

func (s *incidentSink) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		sls := ld.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				if lrs.At(k).EventName() == incidentEventName {
					m := lrs.At(k).Attributes().AsRaw()
					m["body"] = lrs.At(k).Body().Str()
					s.seen = append(s.seen, m)
				}
			}
		}
	}
	return nil
}

func (s *incidentSink) of(rule string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, m := range s.seen {
		if m["incident.rule"] == rule {
			out = append(out, m)
		}
	}
	return out
}

func (s *incidentSink) all() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.seen...)
}

// startChain wires receiver → processor → sink for logs and metrics.
func startChain(t *testing.T, cfg *Config) *incidentSink {
	t.Helper()
	kerneltest.Require(t)
	kerneltest.Exclusive(t)
	ctx := context.Background()
	sink := &incidentSink{}
	pf := NewFactory()
	pset := processortest.NewNopSettings(metadata.Type)
	lp, err := pf.CreateLogs(ctx, pset, cfg, sink)
	require.NoError(t, err)
	mp, err := pf.CreateMetrics(ctx, pset, cfg, consumertest.NewNop())
	require.NoError(t, err)

	rf := ebpfprocessreceiver.NewFactory()
	rcfg := rf.CreateDefaultConfig().(*ebpfprocessreceiver.Config)
	rcfg.CollectionInterval = time.Second
	rset := receivertest.NewNopSettings(rf.Type())
	lr, err := rf.CreateLogs(ctx, rset, rcfg, lp)
	require.NoError(t, err)
	mr, err := rf.CreateMetrics(ctx, rset, rcfg, mp)
	require.NoError(t, err)

	host := componenttest.NewNopHost()
	for _, c := range []interface {
		Start(context.Context, component.Host) error
	}{lp, mp, lr, mr} {
		require.NoError(t, c.Start(ctx, host))
	}
	t.Cleanup(func() {
		for _, c := range []interface{ Shutdown(context.Context) error }{lr, mr, lp, mp} {
			require.NoError(t, c.Shutdown(ctx))
		}
	})
	return sink
}

func fastConfig(overrides ...rules.Rule) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.EvaluationInterval = 200 * time.Millisecond
	cfg.Rules = overrides
	return cfg
}

func TestKernelForkStormFiresOnceAndResolves(t *testing.T) {
	sink := startChain(t, fastConfig())
	// 200 forks every 100 ms for 5 s: 2,000 forks/s, each child exits at
	// once (the rule fires at 1,000/s over 5 s: a margin for a busy CI box).
	storm := exec.Command("perl", "-e", `
use Time::HiRes qw(time sleep);
my $end = time + 5;
while (time < $end) {
  my $t = time;
  for (1..200) { my $p = fork; exit 0 if defined $p && $p == 0; }
  1 while waitpid(-1, 1) > 0;
  my $d = 0.1 - (time - $t); sleep $d if $d > 0;
}
1 while wait != -1;`)
	out, err := storm.CombinedOutput()
	require.NoError(t, err, "%s", out)

	require.Eventually(t, func() bool {
		for _, m := range sink.of("fork_storm") {
			if m["incident.state"] == "resolved" {
				return true
			}
		}
		return false
	}, 30*time.Second, 100*time.Millisecond, "fork_storm resolved: %v", sink.all())
	var firing, resolved []map[string]any
	for _, m := range sink.of("fork_storm") {
		switch m["incident.state"] {
		case "firing":
			firing = append(firing, m)
		case "resolved":
			resolved = append(resolved, m)
		}
	}
	require.Len(t, firing, 1, "exactly one firing fork_storm")
	require.Len(t, resolved, 1)
	assert.Equal(t, firing[0]["incident.id"], resolved[0]["incident.id"])
	ev := firing[0]["incident.evidence"].(map[string]any)
	assert.GreaterOrEqual(t, ev["count"], int64(5000))
	t.Logf("fork_storm: %s", firing[0]["body"])
}

func TestKernelCPUBurnerYieldsCPUSpin(t *testing.T) {
	sink := startChain(t, fastConfig(rules.Rule{
		Name: "cpu_spin", Kind: rules.KindThreshold, Metric: "linnix.process.cpu.cores", Op: ">=", Value: 0.95,
		For: 5 * time.Second, Summary: "{{.Exe}} pid {{.PID}} sustained {{pct .Value}} CPU for {{dur .For}}",
	}))
	pid := startChild(t, "burn")
	var got map[string]any
	require.Eventually(t, func() bool {
		for _, m := range sink.of("cpu_spin") {
			if m["process.pid"] == int64(pid) && m["incident.state"] == "firing" {
				got = m
				return true
			}
		}
		return false
	}, 60*time.Second, 200*time.Millisecond, "cpu_spin naming the burner")
	assert.Contains(t, got["body"], "pid "+strconv.Itoa(pid)+" sustained")
	t.Logf("cpu_spin: %s", got["body"])
}

func TestKernelGrowingChildYieldsMemoryLeak(t *testing.T) {
	sink := startChain(t, fastConfig(rules.Rule{
		Name: "memory_leak", Kind: rules.KindTrend, Metric: "process.memory.usage", Window: 15 * time.Second,
		MinSlopePerMinute: 100 << 20, MinR2: 0.8, MinGrowth: 100 << 20,
		Summary: "{{.Exe}} pid {{.PID}} grew {{bytes .Growth}} in {{dur .Window}} (+{{bytes .Slope}}/min){{if .ETA}}, OOM in ~{{dur .ETA}}{{end}}",
	}))
	pid := startChild(t, "grow")
	var got map[string]any
	require.Eventually(t, func() bool {
		for _, m := range sink.of("memory_leak") {
			if m["process.pid"] == int64(pid) {
				got = m
				return true
			}
		}
		return false
	}, 45*time.Second, 200*time.Millisecond, "memory_leak naming the growing child")
	ev := got["incident.evidence"].(map[string]any)
	// At least the 20 MiB/s the child touches (more under the race
	// detector, whose shadow memory grows with it).
	assert.GreaterOrEqual(t, ev["slope_per_minute"], float64(900<<20))
	assert.GreaterOrEqual(t, ev["r2"], 0.8)
	t.Logf("memory_leak: %s", got["body"])
}

func TestKernelIdleHostYieldsNoIncident(t *testing.T) {
	sink := startChain(t, fastConfig())
	time.Sleep(60 * time.Second)
	for _, m := range sink.all() {
		t.Errorf("incident on an idle host: %s: %s", m["incident.rule"], m["body"])
	}
}
