package ebpfprocessreceiver

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/linnix-os/otelcol-linnix/bpf"
	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver/internal/procfilter"
	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver/internal/proctable"
)

// Synthetic events through the conversion, for what the kernel tests
// cannot provoke on demand.

func newLifecycle(t *testing.T, filter *procfilter.Filter) *lifecycle {
	t.Helper()
	return &lifecycle{
		table:    proctable.New(),
		filter:   filter,
		argsMode: CommandArgsRedact,
		hostName: "h",
		exePath:  func(pid uint32) string { return "/resolved/by/proc" },
		born:     wallClock{offset: 1_700_000_000_000_000_000},
		exited:   map[uint32]uint64{},
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
	events := []*bpf.Event{
		{Type: bpf.EventExec, PID: 10, PPID: 1, StartTime: 100, Timestamp: 150, Filename: "/usr/bin/make", Argv: []string{"make", "TOKEN=x"}},
		{Type: bpf.EventFork, PID: 11, PPID: 10, StartTime: 200, Timestamp: 200, Comm: "make"},
		{Type: bpf.EventExit, PID: 11, PPID: 10, StartTime: 200, Timestamp: 900, Comm: "make", ExitStatus: 2 << 8},
		{Type: bpf.EventExit, PID: 11, PPID: 10, StartTime: 200, Timestamp: 901, Comm: "make", ExitStatus: 2 << 8}, // duplicate
		{Type: bpf.EventExec, PID: 12, PPID: 1, StartTime: 300, Timestamp: 310, Filename: "./run.sh", Argv: []string{"./run.sh"}},
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

	assert.Equal(t, "/resolved/by/proc", recs[3].Attributes().AsRaw()["process.executable.path"], "a relative path is resolved through /proc")
}

func TestFiltersDropRecordsButKeepTheTable(t *testing.T) {
	f, err := procfilter.New(procfilter.Criteria{}, procfilter.Criteria{Executables: []string{"^sshd$"}})
	require.NoError(t, err)
	l := newLifecycle(t, f)
	_, n := l.toLogs([]*bpf.Event{
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
		ld, _ := l.toLogs([]*bpf.Event{{Type: bpf.EventExec, PID: 1, Filename: "/app", Argv: []string{"app", "--password=hunter2"}}}, l.born)
		got := records(ld)[0].Attributes().AsRaw()["process.command_args"]
		if want == nil {
			assert.Nil(t, got, mode)
			continue
		}
		assert.Equal(t, want, got, mode)
	}
}
