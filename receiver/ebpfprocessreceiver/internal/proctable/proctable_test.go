//go:build linux

package proctable

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
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

func TestParseStat(t *testing.T) {
	stat := []byte("42 (we ird) proc)) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 10 18446744073709551615")
	if v, ok := parseStat(stat); !ok || v != (procStat{startTicks: 98765}) {
		t.Fatalf("parseStat = %+v, %v", v, ok)
	}
	kthread := []byte("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0 18446744073709551615")
	if v, ok := parseStat(kthread); !ok || v != (procStat{startTicks: 1, kthread: true}) {
		t.Fatalf("parseStat(kthreadd) = %+v, %v", v, ok)
	}
	if _, ok := parseStat([]byte("42 (x) S 1")); ok {
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
	if _, err := tb.Snapshot("/proc", upper, nil); err != nil {
		t.Fatal(err)
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	st, _ := parseStat(stat)
	ticks := st.startTicks
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

// The kernel side's name for an executable wins over the exe link, for the
// process it was given for: the same pid with another start time is a
// later process, whose link is read.
func TestSnapshotTakesTheKernelsExecutable(t *testing.T) {
	cmd := exec.Command("/bin/sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	pid := uint32(cmd.Process.Pid)
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	st, _ := parseStat(stat)
	ticks := st.startTicks
	for _, tc := range []struct {
		name      string
		kernelAt  uint64 // the start time the kernel side knows pid by
		wantKnown bool
	}{
		{"same process", ticks * TickNs, true},
		{"pid reused since", (ticks + 5) * TickNs, false},
	} {
		tb := New()
		_, err := tb.Snapshot("/proc", func(a []string) []string { return a }, func(p uint32, start uint64) (string, bool) {
			if p == pid && start/TickNs == tc.kernelAt/TickNs {
				return "/from/the/kernel", true
			}
			return "", false
		})
		if err != nil {
			t.Fatal(err)
		}
		info, _ := tb.Lookup(pid)
		if got := info.ExePath == "/from/the/kernel"; got != tc.wantKnown {
			t.Errorf("%s: ExePath %q", tc.name, info.ExePath)
		}
		if !tc.wantKnown && info.ExePath != "/usr/bin/sleep" && info.ExePath != "/bin/sleep" {
			t.Errorf("%s: ExePath %q, want the exe link's", tc.name, info.ExePath)
		}
	}
}

// snapshotAsEnv makes the test binary, re-run as another user, print what
// its snapshot saw of one pid instead of running the tests.
const snapshotAsEnv = "PROCTABLE_SNAPSHOT_PID"

func TestMain(m *testing.M) {
	if pid := os.Getenv(snapshotAsEnv); pid != "" {
		n, _ := strconv.ParseUint(pid, 10, 32)
		tb := New()
		denied, err := tb.Snapshot("/proc", func(a []string) []string { return a }, nil)
		info, ok := tb.Lookup(uint32(n))
		fmt.Printf("%d %t %q %q %v\n", denied, ok, info.ExePath, strings.Join(info.Args, " "), err)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Without CAP_SYS_PTRACE another user's exe link is unreadable: the snapshot
// counts the process as denied and keeps its command line.
func TestSnapshotCountsDeniedExecutables(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("needs root, to run a copy of the test as nobody")
		}
		t.Skip("needs root, to run a copy of the test as nobody")
	}
	sleeper := exec.Command("/bin/sleep", "30")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() }()

	// A copy nobody can run: the test binary's own directory is private.
	dir, err := os.MkdirTemp("", "proctable-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "proctable.test")
	copyFile(t, self, bin)

	const nobody = 65534
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), snapshotAsEnv+"="+strconv.Itoa(sleeper.Process.Pid))
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var denied int
	var ok bool
	var exe, args, snapErr string
	if _, err := fmt.Sscanf(string(out), "%d %t %q %q %s", &denied, &ok, &exe, &args, &snapErr); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	if snapErr != "<nil>" {
		t.Fatalf("snapshot as nobody: %s", snapErr)
	}
	// At least the root sleeper; a bound too, since every other process
	// counted is one the snapshot could list.
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	if denied < 1 || denied > len(entries) {
		t.Errorf("denied = %d, want 1..%d", denied, len(entries))
	}
	if !ok || exe != "" || args != "/bin/sleep 30" {
		t.Errorf("root sleeper as nobody saw it: ok %t, exe %q, args %q; want no path, its command line", ok, exe, args)
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
