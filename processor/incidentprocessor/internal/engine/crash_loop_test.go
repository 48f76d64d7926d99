package engine

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

const crashRule = `
rules:
  - name: crash_loop
    kind: crash_loop
    window: 1m
    min_count: 5
    min_restart_interval: 50ms
    summary: "{{.Exe}} failed {{num .Count}} times in {{dur .Window}} under pid {{.PPID}}, restarted every {{dur .Interval}} ({{.Codes}})"
`

// exitRec is one exit record with a code and, when signal > 0, a signal.
func exitRec(lrs plog.LogRecordSlice, ts time.Time, pid, ppid int64, exe string, code, signal int64) {
	lr := lrs.AppendEmpty()
	lr.SetEventName("linnix.process.exit")
	lr.SetTimestamp(pcommon.NewTimestampFromTime(ts))
	a := lr.Attributes()
	a.PutInt("process.pid", pid)
	a.PutInt("process.parent_pid", ppid)
	a.PutStr("process.executable.name", exe)
	a.PutInt("process.exit.code", code)
	a.PutDouble("linnix.process.lifetime", 0.1)
	if signal > 0 {
		a.PutInt("linnix.process.exit.signal", signal)
	}
}

func exitLogs(fn func(lrs plog.LogRecordSlice)) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("host.name", "h1")
	fn(rl.ScopeLogs().AppendEmpty().LogRecords())
	return ld
}

func TestCrashLoopFiresOnRepeatedFailuresAtSupervisorPace(t *testing.T) {
	e := newEngine(t, crashRule)
	ctx := context.Background()
	var fired []Incident
	for i := 0; i < 10; i++ {
		ts := t0.Add(time.Duration(i) * 300 * time.Millisecond)
		e.ObserveLogs(ctx, exitLogs(func(lrs plog.LogRecordSlice) {
			code, sig := int64(1), int64(0)
			if i == 3 {
				code, sig = 139, 11
			}
			exitRec(lrs, ts, int64(100+i), 50, "worker", code, sig)
			exitRec(lrs, ts, int64(200+i), 50, "sleep", 0, 0) // successes do not count
		}), ts)
		fired = append(fired, e.Evaluate(ts)...)
	}
	require.Len(t, fired, 1)
	assert.Equal(t, "worker failed 5 times in 1m under pid 50, restarted every 300ms (exit 1×4, signal 11×1)", fired[0].Summary)
	assert.Equal(t, 5, fired[0].Evidence["failures"])
	assert.InDelta(t, 0.3, fired[0].Evidence["median_restart_interval_seconds"], 0.001)
	assert.Equal(t, int64(50), fired[0].Subject.PPID)
}

// A script's tight loop of failing probes (grep -q per file, 2 ms apart)
// is not a supervisor restarting a program; nor are failures of one
// executable spread over different parents.
func TestCrashLoopIgnoresTightLoopsAndDifferentParents(t *testing.T) {
	e := newEngine(t, crashRule)
	ctx := context.Background()
	e.ObserveLogs(ctx, exitLogs(func(lrs plog.LogRecordSlice) {
		for i := 0; i < 50; i++ {
			exitRec(lrs, t0.Add(time.Duration(i)*2*time.Millisecond), int64(100+i), 60, "grep", 1, 0)
		}
		for i := 0; i < 20; i++ {
			exitRec(lrs, t0.Add(time.Duration(i)*time.Second), int64(300+i), int64(400+i), "cc1", 1, 0)
		}
	}), t0)
	require.Empty(t, e.Evaluate(t0.Add(20*time.Second)))
}

// A build probing compiler flags (gcc run with one flag after another
// under go, several failing) is not one command failing again and again.
func TestCrashLoopKeysByCommandLine(t *testing.T) {
	e := newEngine(t, crashRule)
	ctx := context.Background()
	var fired []Incident
	for i := 0; i < 8; i++ {
		ts := t0.Add(time.Duration(i) * 900 * time.Millisecond)
		e.ObserveLogs(ctx, exitLogs(func(lrs plog.LogRecordSlice) {
			exitRec(lrs, ts, int64(100+i), 50, "gcc", 1, 0)
			args := lrs.At(lrs.Len() - 1).Attributes().PutEmptySlice("process.command_args")
			args.AppendEmpty().SetStr("gcc")
			args.AppendEmpty().SetStr(fmt.Sprintf("-fprobe-%d", i))
		}), ts)
		fired = append(fired, e.Evaluate(ts)...)
	}
	require.Empty(t, fired)
}
