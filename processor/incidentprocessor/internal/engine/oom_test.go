package engine

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/rules"
)

// oomExit is the exit record of an OOM victim, as the receiver writes it:
// SIGKILL, the mark, its RSS at the kill and its cgroup's limit.
func oomExit(lrs plog.LogRecordSlice, ts time.Time, pid int64, exe, cgroup string, rss, limit int64) {
	exitRec(lrs, ts, pid, 50, exe, 137, 9)
	a := lrs.At(lrs.Len() - 1).Attributes()
	a.PutStr(contract.ProcessLinuxCgroup, cgroup)
	a.PutBool(contract.OOMKilled, true)
	a.PutInt(contract.OOMRSS, rss)
	if limit > 0 {
		a.PutInt(contract.CgroupMemoryLimit, limit)
	}
}

// ofRule returns the incidents of one rule among those given.
func ofRule(incs []Incident, rule string) []Incident {
	var out []Incident
	for _, inc := range incs {
		if inc.Rule == rule {
			out = append(out, inc)
		}
	}
	return out
}

// An OOM loop (the same program killed again and again in its cgroup) is
// one critical incident naming the last victim, its memory and the limit,
// with a count kept current at 1, 2, 4, ... kills, resolved after a quiet
// window; the next kill after that is a new incident.
func TestOOMKillLoopIsOneIncidentWithACount(t *testing.T) {
	e := engineOf(t, rules.Defaults(), 1000)
	ctx := context.Background()
	const cgroup = "4:memory:/app"
	var got []Incident
	for i := int64(0); i < 3; i++ {
		ts := t0.Add(time.Duration(i) * 20 * time.Second)
		got = append(got, e.ObserveLogs(ctx, exitLogs(func(lrs plog.LogRecordSlice) {
			oomExit(lrs, ts, 100+i, "worker", cgroup, 255<<20, 256<<20)
			// A SIGKILL that is not the OOM killer's does not count.
			exitRec(lrs, ts, 200+i, 50, "worker", 137, 9)
		}), ts)...)
		got = append(got, e.Evaluate(ts.Add(time.Second))...)
	}
	got = ofRule(got, "oom_kill")
	require.Len(t, got, 2, "fired at the first kill, repeated at the second")
	first, second := got[0], got[1]
	assert.Equal(t, Firing, first.State)
	assert.Equal(t, rules.SeverityCritical, first.Severity)
	assert.Equal(t, "worker pid 100 was OOM-killed in cgroup 4:memory:/app at 255 MiB resident, limit 256 MiB", first.Summary)
	assert.Equal(t, int64(100), first.Subject.PID)
	assert.Equal(t, cgroup, first.Subject.Cgroup)
	assert.Equal(t, float64(256<<20), first.Evidence["memory_limit_bytes"])
	assert.Equal(t, float64(255<<20), first.Evidence["rss_bytes"])
	require.Len(t, first.Actions, 3)
	assert.Contains(t, first.Actions[0], "raise the limit of its cgroup")
	assert.Contains(t, first.Actions[1], "memory_leak and oom_risk")

	assert.True(t, second.Repeat)
	assert.Equal(t, first.ID, second.ID)
	assert.Equal(t, "worker pid 101 was OOM-killed (2 kills) in cgroup 4:memory:/app at 255 MiB resident, limit 256 MiB", second.Summary)

	// Quiet for the window (10m) after the third kill: one resolve, with
	// the count of the whole loop.
	last := t0.Add(40 * time.Second)
	assert.Empty(t, ofRule(e.Evaluate(last.Add(9*time.Minute)), "oom_kill"))
	resolved := ofRule(e.Evaluate(last.Add(10*time.Minute+time.Second)), "oom_kill")
	require.Len(t, resolved, 1)
	assert.Equal(t, Resolved, resolved[0].State)
	assert.Equal(t, first.ID, resolved[0].ID)
	assert.Equal(t, int64(3), resolved[0].Evidence["kills"])
	assert.Contains(t, resolved[0].Summary, "pid 102 was OOM-killed (3 kills)")

	// A kill after the quiet window is a new incident, counted from one.
	ts := last.Add(11 * time.Minute)
	again := ofRule(e.ObserveLogs(ctx, exitLogs(func(lrs plog.LogRecordSlice) {
		oomExit(lrs, ts, 300, "worker", cgroup, 255<<20, 256<<20)
	}), ts), "oom_kill")
	again = append(again, ofRule(e.Evaluate(ts), "oom_kill")...)
	require.Len(t, again, 1)
	assert.NotEqual(t, first.ID, again[0].ID)
	assert.Equal(t, int64(1), again[0].Evidence["kills"])
}

// Kills of different programs, or of one program in different cgroups,
// are separate incidents; a host-wide OOM (no cgroup limit) says so.
func TestOOMKillGroupsByExecutableAndCgroup(t *testing.T) {
	e := engineOf(t, rules.Defaults(), 1000)
	ctx := context.Background()
	e.ObserveLogs(ctx, exitLogs(func(lrs plog.LogRecordSlice) {
		oomExit(lrs, t0, 100, "worker", "4:memory:/a", 100<<20, 128<<20)
		oomExit(lrs, t0, 101, "worker", "4:memory:/b", 100<<20, 128<<20)
		oomExit(lrs, t0, 102, "java", "4:memory:/a", 100<<20, 128<<20)
		oomExit(lrs, t0, 103, "node", "0::/", 3<<30, 0)
	}), t0)
	got := ofRule(e.Evaluate(t0.Add(time.Second)), "oom_kill")
	require.Len(t, got, 4)
	for _, inc := range got {
		assert.Equal(t, int64(1), inc.Evidence["kills"], inc.Summary)
		if inc.Subject.Exe == "node" {
			assert.Equal(t, "node pid 103 was OOM-killed in cgroup 0::/ at 3.0 GiB resident", inc.Summary)
			assert.NotContains(t, inc.Evidence, "memory_limit_bytes")
			assert.Contains(t, inc.Actions[0], "The host ran out of memory")
		}
	}
}
