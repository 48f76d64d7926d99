package ebpfprocessreceiver

import (
	"testing"

	"github.com/linnix-os/otelcol-linnix/bpf"
	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver/internal/proctable"
)

// The snapshot takes a kernel-side answer only whole, and only for the
// process the kernel listed: /proc gives start times to the tick, floored.
func TestKernelExeAnswersForTheSameProcessOnly(t *testing.T) {
	const start = 123*proctable.TickNs + proctable.TickNs - 1
	const listedAt = 200 * proctable.TickNs
	lookup := kernelExe(map[uint32]bpf.Executable{
		10: {StartTime: start, Path: "/usr/sbin/sshd"},
		11: {StartTime: start, Path: "memfd:x", Fileless: true},
		12: {StartTime: start, Path: "deep/prog", Truncated: true},
		13: {StartTime: start}, // listed without an executable: a zombie
		16: {StartTime: listedAt + 5, Path: "/bin/late"},
	}, listedAt)
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
		{13, 123 * proctable.TickNs, "", true},  // nothing for /proc to add
		{14, 123 * proctable.TickNs, "", false}, // not listed: ask /proc
		// Started after the iterator ran, to the tick: its own records
		// name it.
		{15, 201 * proctable.TickNs, "", true},
		{15, 200 * proctable.TickNs, "", true},
		{15, 199 * proctable.TickNs, "", false},
		// Listed in the iterator's own tick, whole: the kernel's path.
		{16, 200 * proctable.TickNs, "/bin/late", true},
	} {
		if got, ok := lookup(tc.pid, tc.start); got != tc.want || ok != tc.ok {
			t.Errorf("pid %d at %d: %q, %v; want %q, %v", tc.pid, tc.start, got, ok, tc.want, tc.ok)
		}
	}
	if kernelExe(nil, listedAt) != nil {
		t.Error("without the iterator's output, the snapshot must read /proc for every process")
	}
}
