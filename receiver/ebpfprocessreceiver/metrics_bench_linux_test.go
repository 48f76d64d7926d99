package ebpfprocessreceiver

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// spawnSleepers raises the host's process count to at least total with idle
// children, killed when the benchmark ends.
func spawnSleepers(b *testing.B, total int) {
	b.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		b.Fatal(err)
	}
	have := 0
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err == nil {
			have++
		}
	}
	for i := have; i < total; i++ {
		cmd := exec.Command("/bin/sleep", "3600")
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	}
}

// BenchmarkCollect1000 measures one collection at 1,000 processes: the task
// iterator read, the per-process sums and the pdata conversion of every
// process (top_n 0), with the hand-built pdata and with the generated
// builder, on the same receiver.
func BenchmarkCollect1000(b *testing.B) {
	spawnSleepers(b, 1000)
	r := startMetrics(b)
	for _, byHand := range []bool{true, false} {
		name := "by_hand"
		if !byHand {
			name = "builder"
		}
		b.Run(name, func(b *testing.B) {
			r.coll.byHand = byHand
			b.ReportAllocs()
			var points int
			before := cpuTime(b)
			for b.Loop() {
				md, err := r.coll.collect()
				if err != nil {
					b.Fatal(err)
				}
				points = md.DataPointCount()
			}
			// ns/op leaves out the garbage collection that runs on the
			// other cores and the kernel's share of the task iterator;
			// the process's CPU time has both.
			b.ReportMetric(float64((cpuTime(b)-before).Microseconds())/1e3/float64(b.N), "cpu-ms/op")
			b.ReportMetric(float64(len(r.coll.procs)), "processes")
			b.ReportMetric(float64(points), "points/op")
		})
	}
}
