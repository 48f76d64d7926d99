package pipeline

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/linnix-os/otelcol-linnix/internal/contract"

	"github.com/linnix-os/otelcol-linnix/internal/kerneltest"
)

// The thresholds below sit well under what the workloads produce even on a
// slow, busy 2-core machine; each test then compares what the pipeline
// reports with the workload's own count or /proc, not with what the
// machine was expected to give.

func TestKernelForkStormFiresOnceAndResolves(t *testing.T) {
	const threshold = 200 // forks in 5s: 40/s
	s := startChain(t, processorConfig(t, `
evaluation_interval: 200ms
default_rules: false
rules:
  - name: fork_storm
    kind: rate
    event: fork
    window: 5s
    min_count: 200
    group_by: host
    severity: critical
    summary: "{{num .Count}} processes forked in {{dur .Window}} on {{.Host}}"
`), nil)
	// The storm forks as fast as this machine lets it for 5s and counts
	// its own forks; each child exits at once.
	storm, forked := kerneltest.ForkStorm(t, 5*time.Second, 50)
	require.GreaterOrEqual(t, forked, threshold*3/2,
		"the storm forked only %d times in 5s: the test needs 1.5 times the rule's %d", forked, threshold)

	require.Eventually(t, func() bool {
		for _, m := range s.of("fork_storm") {
			if m[contract.IncidentState] == contract.StateResolved {
				return true
			}
		}
		return false
	}, 30*time.Second, 100*time.Millisecond, "fork_storm resolved; incidents: %v", s.all())

	var firing, resolved []map[string]any
	for _, m := range s.of("fork_storm") {
		switch m[contract.IncidentState] {
		case contract.StateFiring:
			firing = append(firing, m)
		case contract.StateResolved:
			resolved = append(resolved, m)
		}
	}
	require.Len(t, firing, 1, "exactly one firing fork_storm")
	require.Len(t, resolved, 1)
	assert.Equal(t, firing[0][contract.IncidentID], resolved[0][contract.IncidentID])
	ev := firing[0][contract.IncidentEvidence].(map[string]any)
	assert.GreaterOrEqual(t, ev["count"], int64(threshold))

	// Every fork of the storm reached the processor's input.
	stormPID := int64(storm.Process.Pid)
	seen := 0
	s.lifecycle(func(lr plog.LogRecord) {
		ppid, _ := lr.Attributes().Get(contract.ProcessParentPID)
		if lr.EventName() == contract.EventFork && ppid.Int() == stormPID {
			seen++
		}
	})
	assert.Equal(t, forked, seen, "fork records of the storm's children")
	t.Logf("storm: %d forks in 5s; fork_storm: %s", forked, firing[0]["body"])
}

func TestKernelCPUBurnerYieldsCPUSpin(t *testing.T) {
	s := startChain(t, processorConfig(t, `
evaluation_interval: 200ms
default_rules: false
rules:
  - name: cpu_spin
    kind: threshold
    metric: linnix.process.cpu.cores
    op: ">="
    value: 0.3
    for: 5s
    summary: "{{.Exe}} pid {{.PID}} sustained {{pct .Value}} CPU for {{dur .For}}"
`), nil)
	began := time.Now()
	pid := startChild(t, "burn")
	var got map[string]any
	require.Eventually(t, func() bool {
		for _, m := range s.of("cpu_spin") {
			if m[contract.ProcessPID] == int64(pid) && m[contract.IncidentState] == contract.StateFiring {
				got = m
				return true
			}
		}
		return false
	}, 60*time.Second, 200*time.Millisecond, "cpu_spin naming the burner")
	// The value the incident reports (the last collection's cores) agrees
	// with /proc's average for the burner, within what one interval can
	// differ from the average on a busy machine.
	avg := procCPUSeconds(t, pid) / time.Since(began).Seconds()
	reported := got[contract.IncidentEvidence].(map[string]any)["linnix.process.cpu.cores"]
	assert.InDelta(t, avg, reported, 0.35, "reported cores vs /proc utime+stime")
	assert.Contains(t, got["body"], "pid "+strconv.Itoa(pid)+" sustained")
	t.Logf("cpu_spin: %s (/proc: %.2f cores on average)", got["body"], avg)
}

func TestKernelGrowingChildYieldsMemoryLeak(t *testing.T) {
	s := startChain(t, processorConfig(t, `
evaluation_interval: 200ms
default_rules: false
rules:
  - name: memory_leak
    kind: trend
    metric: process.memory.usage
    window: 15s
    min_slope_per_minute: 104857600
    min_r2: 0.8
    min_growth: 104857600
    summary: "{{.Exe}} pid {{.PID}} grew {{bytes .Growth}} in {{dur .Window}} (+{{bytes .Slope}}/min)"
`), nil)
	pid := startChild(t, "grow")
	began := time.Now()
	rss0 := procRSS(t, pid)
	var got map[string]any
	require.Eventually(t, func() bool {
		for _, m := range s.of("memory_leak") {
			if m[contract.ProcessPID] == int64(pid) {
				got = m
				return true
			}
		}
		return false
	}, 45*time.Second, 200*time.Millisecond, "memory_leak naming the growing child")
	// The reported slope agrees with the child's growth per /proc.
	truth := (procRSS(t, pid) - rss0) / time.Since(began).Minutes()
	ev := got[contract.IncidentEvidence].(map[string]any)
	assert.InDelta(t, truth, ev["slope_per_minute"], 0.4*truth, "slope per minute vs /proc VmRSS growth")
	assert.GreaterOrEqual(t, ev["r2"], 0.8)
	t.Logf("memory_leak: %s (/proc: +%.0f MiB/min)", got["body"], truth/(1<<20))
}

func TestKernelIdleHostYieldsNoIncident(t *testing.T) {
	s := startChain(t, processorConfig(t, `evaluation_interval: 200ms`), nil)
	time.Sleep(60 * time.Second)
	for _, m := range s.all() {
		t.Errorf("incident on an idle host: %s: %s", m[contract.IncidentRule], m["body"])
	}
}
