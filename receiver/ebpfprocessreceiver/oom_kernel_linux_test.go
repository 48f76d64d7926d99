package ebpfprocessreceiver

import (
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
)

// TestOOMKillIsMarkedOnTheExit runs a child in a cgroup limited to 64 MiB
// that builds a 256 MiB string: the kernel's OOM killer ends it, and its
// exit record says so, with its resident memory at the kill and the limit.
func TestOOMKillIsMarkedOnTheExit(t *testing.T) {
	const limit = 64 << 20
	run := startReceiver(t, createDefaultConfig().(*Config))
	require.True(t, run.rcv.probe.OOMMarks, "this kernel's mark_victim passes the task")
	procs := memoryCgroup(t, limit)

	// sh moves itself into the cgroup, then becomes perl.
	child := exec.Command("/bin/sh", "-c", `echo $$ > "$0" && exec /usr/bin/perl -e '$x = "a" x (256 << 20); sleep 5'`, procs)
	child.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err := child.Run()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "the child must be killed")
	ws := ee.Sys().(syscall.WaitStatus)
	require.True(t, ws.Signaled() && ws.Signal() == syscall.SIGKILL, "child ended with %v", ws)
	pid := child.Process.Pid

	var exit record
	require.Eventually(t, func() bool {
		exit = byPID(run.records(), map[int]bool{pid: true})[pid][contract.EventExit]
		return exit.event != ""
	}, 15*time.Second, 20*time.Millisecond, "exit record of the OOM victim")
	t.Logf("exit record: %s", exit.body)
	assert.Equal(t, true, exit.attrs[contract.OOMKilled])
	assert.Equal(t, int64(9), exit.attrs[contract.ProcessExitSignal])
	assert.Equal(t, "perl", exit.attrs[contract.ProcessExecutableName])
	assert.Equal(t, int64(limit), exit.attrs[contract.CgroupMemoryLimit])
	// The kill happens when a charge would pass the limit, so the victim's
	// resident memory is near it: RSS also counts the shared file pages of
	// perl and libc that another cgroup was charged for, and the kernel's
	// per-CPU counters lag by a few batches of pages.
	rss, _ := exit.attrs[contract.OOMRSS].(int64)
	assert.True(t, rss > limit/2 && rss < limit*5/4, "resident memory at the kill %d, limit %d", rss, limit)
	assert.Contains(t, exit.body, "by the OOM killer")
}
