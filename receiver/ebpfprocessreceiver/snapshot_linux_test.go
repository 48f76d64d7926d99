package ebpfprocessreceiver

import (
	"testing"

	"github.com/linnix-os/otelcol-linnix/bpf"
	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver/internal/proctable"
)

// The snapshot takes a kernel-side path only whole, and only for the
// process the kernel listed: /proc gives start times to the tick.
func TestKernelExeAnswersForTheSameProcessOnly(t *testing.T) {
	const start = 123*proctable.TickNs + 4_567
	lookup := kernelExe(map[uint32]bpf.Executable{
		10: {StartTime: start, Path: "/usr/sbin/sshd"},
		11: {StartTime: start, Path: "memfd:x", Fileless: true},
		12: {StartTime: start, Path: "deep/prog", Truncated: true},
	})
	for _, tc := range []struct {
		pid   uint32
		start uint64
		want  string
		ok    bool
	}{
		{10, 123 * proctable.TickNs, "/usr/sbin/sshd", true},
		{10, 124 * proctable.TickNs, "", false}, // the pid was reused
		{11, 123 * proctable.TickNs, "memfd:x", true},
		{12, 123 * proctable.TickNs, "", false}, // a partial path is not a path
		{13, 123 * proctable.TickNs, "", false},
	} {
		if got, ok := lookup(tc.pid, tc.start); got != tc.want || ok != tc.ok {
			t.Errorf("pid %d at %d: %q, %v; want %q, %v", tc.pid, tc.start, got, ok, tc.want, tc.ok)
		}
	}
	if _, ok := kernelExe(nil)(10, start); ok {
		t.Error("no kernel answers (the iterator failed) answered")
	}
}
