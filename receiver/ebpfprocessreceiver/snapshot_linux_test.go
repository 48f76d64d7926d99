package ebpfprocessreceiver

import (
	"os/exec"
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

// A live process the /proc scan did not show (hidepid) is added with the
// kernel's path and exact start; what the scan saw, a process that exited
// since the listing, and one without a whole path are not.
func TestAddUnscannedAddsLiveProcessesOnly(t *testing.T) {
	live := exec.Command("/bin/sleep", "30")
	if err := live.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = live.Process.Kill(); _ = live.Wait() }()
	gone := exec.Command("/bin/true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	livePID, gonePID := uint32(live.Process.Pid), uint32(gone.Process.Pid)

	tb := proctable.New()
	tb.Put(10, proctable.Info{StartTime: 5 * proctable.TickNs, Coarse: true, ExePath: "/from/proc"})
	n := addUnscanned(tb, map[uint32]bpf.Executable{
		10:      {StartTime: 5*proctable.TickNs + 7, Path: "/usr/sbin/cron"},
		livePID: {StartTime: 123_456_789, Path: "/usr/bin/sleep"},
		gonePID: {StartTime: 1, Path: "/usr/bin/true"},
		4:       {StartTime: 1},                                     // a zombie
		5:       {StartTime: 1, Path: "deep/prog", Truncated: true}, // partial
	})
	if n != 1 {
		t.Errorf("added %d, want 1 (the live process)", n)
	}
	if info, _ := tb.Lookup(10); info.ExePath != "/from/proc" {
		t.Errorf("the scanned entry was replaced: %+v", info)
	}
	if info, ok := tb.Get(livePID, 123_456_789); !ok || info.ExePath != "/usr/bin/sleep" || info.Coarse {
		t.Errorf("live process: %+v, %v; want the kernel's path and exact start", info, ok)
	}
	for _, pid := range []uint32{gonePID, 4, 5} {
		if info, ok := tb.Lookup(pid); ok {
			t.Errorf("pid %d added: %+v", pid, info)
		}
	}
}

func TestProcessesCountsInWords(t *testing.T) {
	for n, want := range map[int]string{1: "1 process", 2: "2 processes", 61: "61 processes"} {
		if got := processes(n); got != want {
			t.Errorf("processes(%d) = %q, want %q", n, got, want)
		}
	}
}
