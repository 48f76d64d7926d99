package proctable

import (
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestGetMatchesStartTime(t *testing.T) {
	tb := New()
	tb.Put(10, Info{StartTime: 5_000_000_123, ExePath: "/a"})
	if _, ok := tb.Get(10, 5_000_000_124); ok {
		t.Fatal("exact entry matched a different start time")
	}
	if got, ok := tb.Get(10, 5_000_000_123); !ok || got.ExePath != "/a" {
		t.Fatalf("Get = %+v, %v", got, ok)
	}
	tb.Put(11, Info{StartTime: 500 * TickNs, Coarse: true, ExePath: "/b"})
	if _, ok := tb.Get(11, 500*TickNs+TickNs-1); !ok {
		t.Fatal("coarse entry did not match within its tick")
	}
	if _, ok := tb.Get(11, 501*TickNs); ok {
		t.Fatal("coarse entry matched the next tick")
	}
	tb.Remove(10)
	if tb.Len() != 1 {
		t.Fatalf("Len = %d after Remove", tb.Len())
	}
}

func TestStatStartTicks(t *testing.T) {
	stat := []byte("42 (we ird) proc)) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 10 18446744073709551615")
	if v, ok := statStartTicks(stat); !ok || v != 98765 {
		t.Fatalf("statStartTicks = %d, %v", v, ok)
	}
	if _, ok := statStartTicks([]byte("42 (x) S 1")); ok {
		t.Fatal("short stat parsed")
	}
}

func TestSnapshotSeesLiveProcess(t *testing.T) {
	cmd := exec.Command("/bin/sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	tb := New()
	upper := func(a []string) []string { return append([]string{"seen"}, a...) }
	if err := tb.Snapshot("/proc", upper); err != nil {
		t.Fatal(err)
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	ticks, _ := statStartTicks(stat)
	info, ok := tb.Get(uint32(cmd.Process.Pid), ticks*TickNs+1)
	if !ok {
		t.Fatal("child not in snapshot")
	}
	if info.ExePath != "/usr/bin/sleep" && info.ExePath != "/bin/sleep" {
		t.Errorf("ExePath = %q", info.ExePath)
	}
	self, selfLine := CgroupFromProc("/proc/self")
	if info.CgroupPath == "" || info.CgroupPath != self || info.CgroupLine != selfLine || !strings.HasSuffix(selfLine, ":"+self) {
		t.Errorf("cgroup = %q %q, want the test's own %q %q", info.CgroupPath, info.CgroupLine, self, selfLine)
	}
	if want := []string{"seen", "/bin/sleep", "30"}; !slices.Equal(info.Args, want) {
		t.Errorf("Args = %q, want %q", info.Args, want)
	}
}
