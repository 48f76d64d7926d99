package ebpfprocessreceiver

import (
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/linnix-os/otelcol-linnix/bpf"
)

// BenchmarkConversion measures decoded records to pdata alone, no kernel:
// batches shaped like a spawn storm (each process forked, exec'd and
// exited), redacted arguments, a container cgroup.
func BenchmarkConversion(b *testing.B) {
	l := newLifecycle(b, nil)
	const procs = maxBatch / 3
	batch := make([]bpf.Event, 0, 3*procs)
	cgroup := "/system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope"
	for i := range procs {
		pid := uint32(10_000 + i)
		common := bpf.Event{PID: pid, TID: pid, PPID: 900, UID: 1000, EUID: 1000, GID: 1000, EGID: 1000,
			Comm: "worker", CgroupPath: cgroup, CgroupID: 4242, Filename: "/usr/local/bin/worker"}
		fork, exec, exit := common, common, common
		fork.Type = bpf.EventFork
		exec.Type, exec.Cwd = bpf.EventExec, "/srv/app"
		exec.Argv = []string{"/usr/local/bin/worker", "--job", strconv.Itoa(i), "--token=s3cret"}
		exit.Type, exit.ExitStatus, exit.Filename = bpf.EventExit, 1<<8, ""
		batch = append(batch, fork, exec, exit)
	}
	b.ReportAllocs()
	records := 0
	cpu0 := cpuTime(b)
	start := uint64(1_000_000_000)
	for b.Loop() {
		// New start times each round: a repeated exit would be dropped as
		// a duplicate.
		start += 1_000_000
		for i := range batch {
			batch[i].StartTime = start
			batch[i].Timestamp = start + uint64(i)*1000
		}
		_, n := l.toLogs(batch, l.born)
		records += n
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
	// Per CPU second too (the garbage collector's included): on a shared
	// machine wall time also counts other processes' turns.
	b.ReportMetric(float64(records)/(cpuTime(b)-cpu0).Seconds(), "records/cpu-s")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
