package ebpfprocessreceiver

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
)

// clockSlack bounds the error of one boot-to-wall clock offset reading.
const clockSlack = time.Millisecond

// TestLifecycleRecordsOfRealProcesses loads the real programs and checks the
// fork, exec and exit records of children whose every detail is known.
func TestLifecycleRecordsOfRealProcesses(t *testing.T) {
	run := startReceiver(t, createDefaultConfig().(*Config))

	longArg := strings.Repeat("x", 10<<10)
	before := time.Now()

	exit7 := exec.Command("/bin/sh", "-c", "exit 7", "linnix-test", "--password=hunter2", longArg)
	err := exit7.Run()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, 7, ee.ExitCode())

	killed := exec.Command("/bin/sleep", "60")
	require.NoError(t, killed.Start())
	// Signal it once its exec record is read, however long that takes here.
	require.Eventually(t, func() bool {
		return byPID(run.records(), map[int]bool{killed.Process.Pid: true})[killed.Process.Pid][contract.EventExec].event != ""
	}, 15*time.Second, 10*time.Millisecond, "exec record of the sleeper")
	require.NoError(t, killed.Process.Kill())
	_ = killed.Wait()

	nobody := exec.Command("/bin/true")
	nobody.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	require.NoError(t, nobody.Run())
	after := time.Now()

	pids := map[int]bool{exit7.Process.Pid: true, killed.Process.Pid: true, nobody.Process.Pid: true}
	var got map[int]map[string]record
	require.Eventually(t, func() bool {
		got = byPID(run.records(), pids)
		for pid := range pids {
			if len(got[pid]) < 3 {
				return false
			}
		}
		return true
	}, 15*time.Second, 50*time.Millisecond, "fork, exec and exit of every child")

	// A process's identity is pid + creation time: the same string in all
	// of its records.
	for pid, recs := range got {
		created := recs[contract.EventFork].attrs["process.creation.time"]
		for name, r := range recs {
			assert.Equal(t, created, r.attrs["process.creation.time"], "creation time of %d in %s", pid, name)
		}
	}

	me := int64(os.Getpid())
	cgroups, err := os.ReadFile("/proc/self/cgroup")
	require.NoError(t, err)
	for pid, recs := range got {
		for _, name := range []string{contract.EventFork, contract.EventExec, contract.EventExit} {
			r, ok := recs[name]
			require.True(t, ok, "pid %d has no %s record", pid, name)
			assert.Equal(t, me, r.attrs["process.parent_pid"], "%s of %d", name, pid)
			assert.False(t, r.ts.Before(before) || r.ts.After(after), "%s of %d at %v, outside [%v, %v]", name, pid, r.ts, before, after)
			created, err := time.Parse(time.RFC3339Nano, r.attrs["process.creation.time"].(string))
			require.NoError(t, err)
			// Both times are the kernel's boot clock moved to the wall clock
			// by an offset read at different moments (see newWallClock), so
			// their order holds within what reading that offset may be off.
			assert.False(t, created.Before(before) || created.After(r.ts.Add(clockSlack)), "creation time %v of %d, outside [%v, %v] (%s)", created, pid, before, r.ts, name)
			assert.Contains(t, strings.Split(string(cgroups), "\n"), r.attrs["process.linux.cgroup"], "cgroup line of %d", pid)
		}
	}

	// The shell: the file the kernel ran (/bin/sh is a link, to dash on
	// Debian), arguments redacted, the 10 KiB argument cut and flagged.
	shPath, err := filepath.EvalSymlinks("/bin/sh")
	require.NoError(t, err)
	sh := got[exit7.Process.Pid]
	exec7 := sh[contract.EventExec]
	assert.Equal(t, shPath, exec7.attrs["process.executable.path"])
	assert.Equal(t, filepath.Base(shPath), exec7.attrs["process.executable.name"])
	wd, err := os.Getwd()
	require.NoError(t, err)
	assert.Equal(t, wd, exec7.attrs["process.working_directory"])
	assert.NotContains(t, exec7.attrs, "linnix.process.fileless")
	args := exec7.attrs["process.command_args"].([]any)
	require.Len(t, args, 6)
	assert.Equal(t, []any{"/bin/sh", "-c", "exit 7", "linnix-test", "--password=***"}, args[:5])
	assert.True(t, strings.HasPrefix(longArg, args[5].(string)) && len(args[5].(string)) < len(longArg), "long argument must be cut")
	assert.Equal(t, true, exec7.attrs["linnix.process.command_args.truncated"])
	assert.Equal(t, int64(0), exec7.attrs["process.user.id"])
	assert.Contains(t, exec7.body, "exec "+shPath+" pid ")
	exit := sh[contract.EventExit]
	assert.Equal(t, int64(7), exit.attrs["process.exit.code"])
	assert.NotContains(t, exit.attrs, "linnix.process.exit.signal")
	assert.Equal(t, shPath, exit.attrs["process.executable.path"], "exit carries the exec's attributes")
	assert.Equal(t, args, exit.attrs["process.command_args"])
	assert.Greater(t, exit.attrs["linnix.process.lifetime"].(float64), 0.0)
	for _, r := range sh {
		for k, v := range r.attrs {
			assert.NotContains(t, fmt.Sprint(v), "hunter2", "secret leaked in %s of %s", k, r.event)
		}
	}

	// The sleeper: killed by SIGKILL.
	sl := got[killed.Process.Pid][contract.EventExit]
	assert.Equal(t, int64(9), sl.attrs["linnix.process.exit.signal"])
	assert.Equal(t, int64(128+9), sl.attrs["process.exit.code"])
	assert.Equal(t, "sleep", sl.attrs["process.executable.name"])
	assert.Contains(t, sl.body, "killed by SIGKILL")

	// The unprivileged child: its credentials.
	for _, r := range []record{got[nobody.Process.Pid][contract.EventExec], got[nobody.Process.Pid][contract.EventExit]} {
		assert.Equal(t, int64(65534), r.attrs["process.user.id"], r.event)
		assert.Equal(t, int64(65534), r.attrs["process.real_user.id"], r.event)
	}
	assert.Equal(t, int64(0), got[nobody.Process.Pid][contract.EventExit].attrs["process.exit.code"])

	for reason, n := range run.losses(t) {
		assert.Zero(t, n, "lost events, reason %s", reason)
	}
}
