package ebpfprocessreceiver

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/linnix-os/otelcol-linnix/bpf"
	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver/internal/memlimit"
	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver/internal/procfilter"
	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver/internal/proctable"
)

// Synthetic events through the conversion, for what the kernel tests
// cannot provoke on demand.

func newLifecycle(t testing.TB, filter *procfilter.Filter) *lifecycle {
	t.Helper()
	return &lifecycle{
		table:    proctable.New(),
		filter:   filter,
		argsMode: CommandArgsRedact,
		hostName: "h",
		born:     wallClock{offset: 1_700_000_000_000_000_000},
		exited:   map[uint32]uint64{},
		created:  map[uint64]string{},
	}
}

func records(ld plog.Logs) []plog.LogRecord {
	var out []plog.LogRecord
	lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := 0; i < lrs.Len(); i++ {
		out = append(out, lrs.At(i))
	}
	return out
}

func TestForkInheritsExecAndExitCarriesIt(t *testing.T) {
	l := newLifecycle(t, nil)
	events := []bpf.Event{
		{Type: bpf.EventExec, PID: 10, PPID: 1, StartTime: 100, Timestamp: 150, Filename: "/usr/bin/make", Argv: []string{"make", "TOKEN=x"}},
		{Type: bpf.EventFork, PID: 11, PPID: 10, StartTime: 200, Timestamp: 200, Comm: "make"},
		{Type: bpf.EventExit, PID: 11, PPID: 10, StartTime: 200, Timestamp: 900, Comm: "make", ExitStatus: 2 << 8},
		{Type: bpf.EventExit, PID: 11, PPID: 10, StartTime: 200, Timestamp: 901, Comm: "make", ExitStatus: 2 << 8}, // duplicate
		{Type: bpf.EventExec, PID: 12, PPID: 1, StartTime: 300, Timestamp: 310, Filename: "/usr/bin/dash", Cwd: "/srv", Argv: []string{"/bin/sh", "./run.sh"}},
	}
	ld, n := l.toLogs(events, l.born)
	require.Equal(t, 4, n, "the duplicate exit is dropped")
	recs := records(ld)

	fork := recs[1].Attributes().AsRaw()
	assert.Equal(t, "linnix.process.fork", recs[1].EventName())
	assert.Equal(t, "/usr/bin/make", fork["process.executable.path"], "a child runs its parent's image")
	assert.Equal(t, []any{"make", "TOKEN=***"}, fork["process.command_args"])

	exit := recs[2].Attributes().AsRaw()
	assert.Equal(t, int64(2), exit["process.exit.code"])
	assert.Equal(t, "make", exit["process.executable.name"])
	assert.Equal(t, fork["process.creation.time"], exit["process.creation.time"])
	assert.Equal(t, 2, l.table.Len(), "the exited child left the table (10 and 12 remain)")

	script := recs[3].Attributes().AsRaw()
	assert.Equal(t, "/usr/bin/dash", script["process.executable.path"], "a script's executable is its interpreter")
	assert.Equal(t, "dash", script["process.executable.name"])
	assert.Equal(t, []any{"/bin/sh", "./run.sh"}, script["process.command_args"], "the script stays visible in the arguments")
	assert.Equal(t, "/srv", script["process.working_directory"])
	assert.NotContains(t, script, "linnix.process.fileless")
	assert.NotContains(t, fork, "process.working_directory", "only exec records carry the working directory")
}

func TestFiltersDropRecordsButKeepTheTable(t *testing.T) {
	f, err := procfilter.New(procfilter.Criteria{}, procfilter.Criteria{Executables: []string{"^sshd$"}})
	require.NoError(t, err)
	l := newLifecycle(t, f)
	_, n := l.toLogs([]bpf.Event{
		{Type: bpf.EventExec, PID: 20, StartTime: 1, Filename: "/usr/sbin/sshd"},
		{Type: bpf.EventExec, PID: 21, StartTime: 1, Filename: "/usr/bin/bash"},
	}, l.born)
	assert.Equal(t, 1, n)
	assert.Equal(t, 2, l.table.Len(), "filtered processes are still tracked")
}

func TestCommandArgsModes(t *testing.T) {
	for mode, want := range map[CommandArgsMode]any{
		CommandArgsRedact: []any{"app", "--password=***"},
		CommandArgsFull:   []any{"app", "--password=hunter2"},
		CommandArgsOff:    nil,
	} {
		l := newLifecycle(t, nil)
		l.argsMode = mode
		ld, _ := l.toLogs([]bpf.Event{{Type: bpf.EventExec, PID: 1, Filename: "/app", Argv: []string{"app", "--password=hunter2"}}}, l.born)
		got := records(ld)[0].Attributes().AsRaw()["process.command_args"]
		if want == nil {
			assert.Nil(t, got, mode)
			continue
		}
		assert.Equal(t, want, got, mode)
	}
}

func TestExecPathsFromTheKernel(t *testing.T) {
	l := newLifecycle(t, nil)
	ld, n := l.toLogs([]bpf.Event{
		{Type: bpf.EventExec, PID: 30, PPID: 1, StartTime: 1, Comm: "3", Filename: "memfd:payload", Cwd: "/tmp", Flags: bpf.FlagFileless, Argv: []string{"/dev/fd/3"}},
		{Type: bpf.EventExec, PID: 31, PPID: 1, StartTime: 1, Comm: "deep", Filename: "c/d/deep", Cwd: "b/c", Flags: bpf.FlagFilenameTruncated | bpf.FlagCwdTruncated},
		// A thread of 30, whose parent 1 runs something else.
		{Type: bpf.EventFork, PID: 30, TID: 33, PPID: 1, StartTime: 1, Comm: "3", Filename: "memfd:payload", Flags: bpf.FlagThread},
	}, l.born)
	require.Equal(t, 3, n)
	recs := records(ld)

	memfd := recs[0].Attributes().AsRaw()
	assert.Equal(t, "memfd:payload", memfd["process.executable.path"])
	assert.Equal(t, "memfd:payload", memfd["process.executable.name"])
	assert.Equal(t, true, memfd["linnix.process.fileless"])
	assert.Equal(t, "/tmp", memfd["process.working_directory"])
	assert.Equal(t, "exec memfd:payload pid 30 ppid 1 uid 0", recs[0].Body().Str())

	deep := recs[1].Attributes().AsRaw()
	assert.NotContains(t, deep, "process.executable.path", "a partial path never passes for a real one")
	assert.NotContains(t, deep, "process.working_directory")
	assert.Equal(t, "deep", deep["process.executable.name"], "the comm stands in")

	thread := recs[2].Attributes().AsRaw()
	assert.Equal(t, "memfd:payload", thread["process.executable.path"], "a thread names its own process's program")
	assert.Equal(t, []any{"/dev/fd/3"}, thread["process.command_args"])
	assert.Equal(t, int64(33), thread["thread.id"])
}

func TestOOMKillMarksTheExit(t *testing.T) {
	root := t.TempDir()
	for dir, limit := range map[string]string{"": "9223372036854771712", "job": "67108864"} {
		d := filepath.Join(root, "sys/fs/cgroup/memory", dir)
		require.NoError(t, os.MkdirAll(d, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(d, "memory.limit_in_bytes"), []byte(limit+"\n"), 0o644))
	}
	l := newLifecycle(t, nil)
	l.limits = memlimit.NewCgroups(root, time.Minute)
	ld, _ := l.toLogs([]bpf.Event{
		{Type: bpf.EventExec, PID: 40, StartTime: 5, Filename: "/usr/bin/perl", CgroupPath: "/job", CgroupHierarchy: 4},
		{Type: bpf.EventExit, PID: 40, StartTime: 5, Timestamp: 5 + 1_500_000_000, ExitStatus: 9, CgroupPath: "/job", CgroupHierarchy: 4,
			Flags: bpf.FlagOOMKilled, OOMRSS: 66 << 20},
	}, l.born)
	exit := records(ld)[1]
	attrs := exit.Attributes().AsRaw()
	assert.Equal(t, true, attrs["linnix.oom.killed"])
	assert.Equal(t, int64(66<<20), attrs["linnix.oom.rss"])
	assert.Equal(t, int64(64<<20), attrs["linnix.cgroup.memory.limit"])
	assert.Equal(t, int64(9), attrs["linnix.process.exit.signal"])
	assert.Equal(t, "exit perl pid 40 killed by SIGKILL by the OOM killer at 66.0 MiB resident of a 64.0 MiB limit after 1.5s", exit.Body().Str())
}

// TestRecordsOfOlderKernels feeds what the kernel side writes where its
// CO-RE branches take the older path; these kernels are not run in CI.
func TestRecordsOfOlderKernels(t *testing.T) {
	l := newLifecycle(t, nil)
	ld, n := l.toLogs([]bpf.Event{
		{Type: bpf.EventExec, PID: 50, TID: 50, StartTime: 7, Filename: "/usr/bin/java"},
		// Before 6.16 sched_process_exit has no group_dead: the thread that
		// takes signal->live to zero reports the group's exit, and it need
		// not be the leader; a second thread exiting at the same moment may
		// report it again.
		{Type: bpf.EventExit, PID: 50, TID: 52, StartTime: 7, Timestamp: 9, ExitStatus: 3 << 8},
		{Type: bpf.EventExit, PID: 50, TID: 53, StartTime: 7, Timestamp: 9, ExitStatus: 3 << 8},
		// Where mark_victim passes only a pid, an OOM kill is a plain SIGKILL.
		{Type: bpf.EventExec, PID: 60, StartTime: 8, Filename: "/usr/bin/perl"},
		{Type: bpf.EventExit, PID: 60, StartTime: 8, Timestamp: 10, ExitStatus: 9},
	}, l.born)
	require.Equal(t, 4, n, "the second report of 50's exit is dropped")
	recs := records(ld)
	java := recs[1].Attributes().AsRaw()
	assert.Equal(t, int64(3), java["process.exit.code"])
	assert.Equal(t, "/usr/bin/java", java["process.executable.path"])
	assert.NotContains(t, java, "thread.id", "the group's exit is a process record whichever thread reports it")
	perl := recs[3].Attributes().AsRaw()
	assert.Equal(t, int64(137), perl["process.exit.code"])
	assert.NotContains(t, perl, "linnix.oom.killed")
	assert.NotContains(t, perl, "linnix.oom.rss")
}
