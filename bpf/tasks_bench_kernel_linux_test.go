package bpf_test

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/linnix-os/otelcol-linnix/bpf"
	"github.com/linnix-os/otelcol-linnix/internal/kerneltest"
)

// BenchmarkReadTasks measures one run of the task iterator over the host's
// tasks, decoded. Most of it is kernel time, which ns/op on a loaded
// machine blurs: cpu-µs/op is the process's user+system time.
func BenchmarkReadTasks(b *testing.B) {
	kerneltest.Require(b)
	kerneltest.Exclusive(b)
	p, err := bpf.Open(bpf.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	var tasks []bpf.TaskSample
	before := cpuTime(b)
	for b.Loop() {
		if tasks, err = p.ReadTasks(tasks); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime(b)-before)/1e3/float64(b.N), "cpu-µs/op")
	b.ReportMetric(float64(len(tasks)), "tasks")
}

// cpuTime is the process's user+system CPU time in nanoseconds.
func cpuTime(b *testing.B) int64 {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkReadExecutables measures one run of the executables iterator
// over the host's processes (the start-up snapshot's paths), decoded.
func BenchmarkReadExecutables(b *testing.B) {
	kerneltest.Require(b)
	kerneltest.Exclusive(b)
	p, err := bpf.Open(bpf.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	var exes map[uint32]bpf.Executable
	before := cpuTime(b)
	for b.Loop() {
		if exes, err = p.ReadExecutables(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime(b)-before)/1e3/float64(b.N), "cpu-µs/op")
	b.ReportMetric(float64(len(exes)), "processes")
}
