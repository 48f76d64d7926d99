package ebpfprocessreceiver

import (
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"golang.org/x/sys/unix"

	"github.com/linnix-os/otelcol-linnix/bpf"
)

// BenchmarkConversion measures decoded records to pdata alone, no kernel:
// batches shaped like a spawn storm (each process forked, exec'd and
// exited), redacted arguments, a container cgroup.
func BenchmarkConversion(b *testing.B) {
	l := newLifecycle(b, nil)
	start := uint64(1_000_000_000)
	batch := stormBatch(start)
	b.ReportAllocs()
	records := 0
	cpu0 := cpuTime(b)
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

// BenchmarkConversionFloor is what pdata alone costs for the same records:
// BenchmarkConversion's output, copied whole by pdata's own CopyTo, which
// allocates the same pdata nodes (strings are shared, not copied) and
// computes nothing: no process table, no redaction, no formatting. A
// conversion that builds these records through pdata's API is not expected
// to beat it, so the gap between the two lines is ours.
func BenchmarkConversionFloor(b *testing.B) {
	l := newLifecycle(b, nil)
	ref, n := l.toLogs(stormBatch(1_000_000_000), l.born)
	b.ReportAllocs()
	records := 0
	cpu0 := cpuTime(b)
	for b.Loop() {
		ld := plog.NewLogs()
		ref.CopyTo(ld)
		records += n
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(records)/(cpuTime(b)-cpu0).Seconds(), "records/cpu-s")
}

// stormBatch is a full batch of a spawn storm's records: each process's
// fork, exec and exit, all of them started at start.
func stormBatch(start uint64) []bpf.Event {
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
	for i := range batch {
		batch[i].StartTime = start
		batch[i].Timestamp = start + uint64(i)*1000
	}
	return batch
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
