package bpf_test

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/linnix-os/otelcol-linnix/bpf"
	"github.com/linnix-os/otelcol-linnix/internal/kerneltest"
)

// BenchmarkReadTasks measures one run of the task iterator over the host's
// tasks, decoded.
func BenchmarkReadTasks(b *testing.B) {
	var tasks []bpf.TaskSample
	benchIterator(b, "tasks", func(p *bpf.Probe) (int, error) {
		var err error
		tasks, err = p.ReadTasks(tasks)
		return len(tasks), err
	})
}

// BenchmarkReadExecutables measures one run of the executables iterator
// over the host's processes (the start-up snapshot's paths), decoded.
func BenchmarkReadExecutables(b *testing.B) {
	benchIterator(b, "processes", func(p *bpf.Probe) (int, error) {
		exes, err := p.ReadExecutables()
		return len(exes), err
	})
}

// benchIterator times read, one iterator run that returns how many objects
// it read, on a probe of its own, and reports the last count in unit. Most
// of a run is kernel time, which ns/op on a loaded machine blurs: cpu-µs/op
// is the process's user+system time.
func benchIterator(b *testing.B, unit string, read func(*bpf.Probe) (int, error)) {
	kerneltest.Require(b)
	kerneltest.Exclusive(b)
	p, err := bpf.Open(bpf.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	n := 0
	before := cpuTime(b)
	for b.Loop() {
		if n, err = read(p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime(b)-before)/1e3/float64(b.N), "cpu-µs/op")
	b.ReportMetric(float64(n), unit)
}

// cpuTime is the process's user+system CPU time in nanoseconds.
func cpuTime(b *testing.B) int64 {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
