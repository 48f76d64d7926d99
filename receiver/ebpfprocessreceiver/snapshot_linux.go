//go:build linux

package ebpfprocessreceiver

import (
	"errors"
	"fmt"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/linnix-os/otelcol-linnix/bpf"
	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver/internal/proctable"
)

// snapshot fills the process table with the processes running at start, so
// that their exit records and metrics carry the same executable and
// arguments as later processes'. The kernel names the executables, as it
// does for execs; /proc gives the arguments and cgroups, and its exe link
// (which needs CAP_SYS_PTRACE for other users' processes) is only read for
// what the kernel did not name.
func (r *ebpfReceiver) snapshot() {
	listedAt := bootNow()
	exes, err := r.probe.ReadExecutables()
	if err != nil {
		r.set.Logger.Warn("Naming the executables of running processes in the kernel failed; reading /proc/PID/exe instead", zap.Error(err))
		exes = nil
	}
	denied, err := r.lc.table.Snapshot("/proc", r.lc.collectArgs, kernelExe(exes, listedAt))
	if err != nil {
		r.set.Logger.Warn("Snapshot of running processes failed; their exit records will lack executable and arguments", zap.Error(err))
	}
	if denied > 0 {
		// Once, not per process.
		r.set.Logger.Warn(fmt.Sprintf("Cannot name the executable of %s that ran before the collector: the kernel did not list them and /proc/PID/exe was denied; their records and metrics name the command instead", processes(denied)),
			zap.Int("processes", denied))
	}
	if hidden := addUnscanned(r.lc.table, exes); hidden > 0 {
		r.set.Logger.Info(fmt.Sprintf("Named %s that /proc hides from this user (hidepid) by the kernel alone, without arguments", processes(hidden)),
			zap.Int("processes", hidden))
	}
}

// addUnscanned adds the live processes the kernel listed with an
// executable but the /proc scan did not show (a /proc mounted with hidepid
// hides other users' processes from a collector without CAP_SYS_PTRACE),
// and returns how many. Their start times are the kernel's, exact.
func addUnscanned(t *proctable.Table, exes map[uint32]bpf.Executable) int {
	n := 0
	for pid, e := range exes {
		if e.Path == "" || e.Truncated {
			continue
		}
		if _, ok := t.Lookup(pid); ok {
			continue
		}
		// Signal 0 tells a hidden process (EPERM, or none for our own)
		// from one that exited since the listing (ESRCH).
		if err := unix.Kill(int(pid), 0); errors.Is(err, unix.ESRCH) {
			continue
		}
		t.Put(pid, proctable.Info{StartTime: e.StartTime, ExePath: e.Path})
		n++
	}
	return n
}

// kernelExe answers the snapshot's executable lookups from the executables
// iterator's output (listedAt: CLOCK_BOOTTIME just before it ran): a whole path, or
// none for a process listed without one, for the process that had that pid
// at that start time. A process started after the iterator ran is answered
// with no path too: its fork and exec records, read after the snapshot,
// name it. Only a process the iterator should have listed and did not, or
// whose path it could not walk whole, is left to /proc/PID/exe.
func kernelExe(exes map[uint32]bpf.Executable, listedAt uint64) proctable.ExeLookup {
	if exes == nil {
		return nil // the iterator failed: /proc for every process
	}
	return func(pid uint32, start uint64) (string, bool) {
		e, ok := exes[pid]
		if ok && e.StartTime/proctable.TickNs == start/proctable.TickNs {
			if e.Truncated {
				return "", false // a partial path is not a path
			}
			return e.Path, true
		}
		// Not listed: started since, if in the iterator's tick or later
		// (start is to the tick).
		return "", start/proctable.TickNs >= listedAt/proctable.TickNs
	}
}

// processes is "1 process" or "N processes".
func processes(n int) string {
	if n == 1 {
		return "1 process"
	}
	return fmt.Sprintf("%d processes", n)
}
