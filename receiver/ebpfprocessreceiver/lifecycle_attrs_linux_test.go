package ebpfprocessreceiver

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/linnix-os/otelcol-linnix/bpf"
	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver/internal/memlimit"
	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver/internal/proctable"
)

const containerCgroup = "/system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope"

// TestAttrCountIsWhatFillPuts pins the size each record's attribute map is
// allocated at to the attributes it receives, for every optional one.
func TestAttrCountIsWhatFillPuts(t *testing.T) {
	// A cgroup v2 host whose /job is limited to 64 MiB.
	root := t.TempDir()
	v2 := filepath.Join(root, "sys/fs/cgroup")
	require.NoError(t, os.MkdirAll(filepath.Join(v2, "job"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(v2, "cgroup.controllers"), []byte("cpu memory\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(v2, "job/memory.max"), []byte("67108864\n"), 0o644))
	l := newLifecycle(t, nil)
	l.limits = memlimit.NewCgroups(root, time.Minute)

	full := proctable.Info{ExePath: "/usr/bin/app", Args: []string{"app", "-v"}, ArgsTruncated: true}
	cases := []struct {
		name string
		e    bpf.Event
		info proctable.Info
		// limited: an OOM kill whose cgroup has a memory limit.
		limited bool
	}{
		{name: "bare fork", e: bpf.Event{Type: bpf.EventFork, PID: 2}},
		{name: "thread of a container's process", info: full,
			e: bpf.Event{Type: bpf.EventFork, PID: 2, TID: 3, Flags: bpf.FlagThread, CgroupPath: containerCgroup}},
		{name: "exec", info: full,
			e: bpf.Event{Type: bpf.EventExec, PID: 2, Cwd: "/srv", Flags: bpf.FlagFileless}},
		{name: "exec from a directory too deep", info: proctable.Info{Args: []string{"app"}},
			e: bpf.Event{Type: bpf.EventExec, PID: 2, Cwd: "b/c", Flags: bpf.FlagCwdTruncated}},
		{name: "exit", e: bpf.Event{Type: bpf.EventExit, PID: 2, ExitStatus: 1 << 8}},
		{name: "exit by a signal with a core dump", info: full,
			e: bpf.Event{Type: bpf.EventExit, PID: 2, ExitStatus: 0x80 | 11}},
		{name: "OOM kill", e: bpf.Event{Type: bpf.EventExit, PID: 2, ExitStatus: 9, Flags: bpf.FlagOOMKilled, CgroupPath: "/"}},
		{name: "OOM kill under a limit", limited: true,
			e: bpf.Event{Type: bpf.EventExit, PID: 2, ExitStatus: 9, Flags: bpf.FlagOOMKilled, CgroupPath: "/job"}},
	}
	for _, c := range cases {
		lr := plog.NewLogRecord()
		l.fill(lr, &c.e, c.info, "app", l.born)
		want := attrCount(&c.e, c.info, l.cgroups.of(&c.e).containerID)
		if c.e.OOMKilled() && !c.limited {
			want-- // room for the limit stays empty
		}
		assert.Equal(t, want, lr.Attributes().Len(), c.name)
		_, hasLimit := lr.Attributes().Get("linnix.cgroup.memory.limit")
		assert.Equal(t, c.limited, hasLimit, c.name)
	}
}

// TestCgroupAttributesFollowEachRecord interleaves records of the same
// cgroups, so that what is remembered of one cgroup never lands on a record
// of another.
func TestCgroupAttributesFollowEachRecord(t *testing.T) {
	l := newLifecycle(t, nil)
	events := []bpf.Event{
		{Type: bpf.EventExec, PID: 10, StartTime: 1, Filename: "/app", CgroupPath: containerCgroup},
		{Type: bpf.EventExec, PID: 11, StartTime: 1, Filename: "/app", CgroupPath: "/user.slice"},
		{Type: bpf.EventExec, PID: 12, StartTime: 1, Filename: "/app", CgroupPath: "/user.slice", CgroupHierarchy: 4},
		{Type: bpf.EventFork, PID: 13, PPID: 10, StartTime: 2, CgroupPath: containerCgroup},
		{Type: bpf.EventExit, PID: 11, StartTime: 1, CgroupPath: "/user.slice"},
		{Type: bpf.EventExit, PID: 10, StartTime: 1, CgroupPath: containerCgroup},
	}
	ld, n := l.toLogs(events, l.born)
	require.Equal(t, len(events), n)
	v1 := strconv.Itoa(4) + ":" + v1Controllers(4) + ":/user.slice"
	for i, r := range records(ld) {
		attrs := r.Attributes().AsRaw()
		switch events[i].CgroupPath {
		case containerCgroup:
			assert.Equal(t, "0::"+containerCgroup, attrs["process.linux.cgroup"], i)
			assert.Equal(t, containerCgroup[len("/system.slice/docker-"):len(containerCgroup)-len(".scope")], attrs["container.id"], i)
		default:
			want := "0::/user.slice"
			if events[i].CgroupHierarchy == 4 {
				want = v1
			}
			assert.Equal(t, want, attrs["process.linux.cgroup"], i)
			assert.NotContains(t, attrs, "container.id", i)
		}
	}
}
