package bpf_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/linnix-os/otelcol-linnix/bpf"
	"github.com/linnix-os/otelcol-linnix/internal/kerneltest"
)

// helperEnv makes the test binary, started again by a test, run one of the
// helpers below instead of the tests.
const helperEnv = "LINNIX_BPF_TEST_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "execveat":
		// execveat(open(/bin/true), "", AT_EMPTY_PATH): the kernel is given
		// /dev/fd/N, not a path.
		fd, err := unix.Open("/bin/true", unix.O_RDONLY, 0)
		check(err)
		check(execveatEmpty(fd))
	case "memfd":
		// A copy of /bin/true in a memfd, run without ever having a path.
		fd, err := unix.MemfdCreate("linnix-test", 0)
		check(err)
		src, err := os.Open("/bin/true")
		check(err)
		_, err = io.Copy(os.NewFile(uintptr(fd), "memfd"), src)
		check(err)
		check(execveatEmpty(fd))
	case "memfd-sleep":
		// A copy of /bin/sleep in a memfd that stays running: the
		// executables iterator must name it as the exec record does.
		fd, err := unix.MemfdCreate("linnix-sleep", 0)
		check(err)
		src, err := os.Open("/bin/sleep")
		check(err)
		_, err = io.Copy(os.NewFile(uintptr(fd), "memfd"), src)
		check(err)
		check(execveatEmpty(fd, "sleep", "30"))
	case "threads":
		// Threads of this process, started after it exec'd from its parent.
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				runtime.LockOSThread()
				time.Sleep(100 * time.Millisecond)
			})
		}
		wg.Wait()
		os.Exit(0)
	}
	os.Exit(2)
}

// execveatEmpty runs the file fd refers to with args (default "fd-exec").
func execveatEmpty(fd int, args ...string) error {
	if len(args) == 0 {
		args = []string{"fd-exec"}
	}
	argv := make([]*byte, 0, len(args)+1)
	for _, a := range args {
		b, err := unix.BytePtrFromString(a)
		if err != nil {
			return err
		}
		argv = append(argv, b)
	}
	argv = append(argv, nil)
	empty, err := unix.BytePtrFromString("")
	if err != nil {
		return err
	}
	envv := []*byte{nil}
	_, _, errno := unix.Syscall6(unix.SYS_EXECVEAT, uintptr(fd), uintptr(unsafe.Pointer(empty)),
		uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&envv[0])), unix.AT_EMPTY_PATH, 0)
	return errno
}

func check(err error) {
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(3)
	}
}

// recorder collects every record the probe reads until it is closed.
type recorder struct {
	mu     sync.Mutex
	events []bpf.Event
	done   chan struct{}
}

func collect(t *testing.T, p *bpf.Probe) *recorder {
	r := &recorder{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for {
			raw, err := p.ReadRaw()
			if errors.Is(err, os.ErrDeadlineExceeded) {
				err = p.Wait(time.Time{})
				if err == nil {
					continue
				}
			}
			if errors.Is(err, os.ErrClosed) {
				return
			}
			if err != nil {
				t.Errorf("reading: %v", err)
				return
			}
			var e bpf.Event
			if err := bpf.Decode(raw, &e); err != nil {
				t.Errorf("decoding: %v", err)
				continue
			}
			r.mu.Lock()
			r.events = append(r.events, e)
			r.mu.Unlock()
		}
	}()
	return r
}

// wait returns the records of pid once want says they are complete.
func (r *recorder) wait(t *testing.T, pid int, want func([]bpf.Event) bool) []bpf.Event {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var mine []bpf.Event
		r.mu.Lock()
		for _, e := range r.events {
			if e.PID == uint32(pid) {
				mine = append(mine, e)
			}
		}
		r.mu.Unlock()
		if want(mine) {
			return mine
		}
		if time.Now().After(deadline) {
			t.Fatalf("records of pid %d incomplete: %+v", pid, mine)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func of(typ bpf.EventType, events []bpf.Event) []bpf.Event {
	var out []bpf.Event
	for _, e := range events {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

func hasExit(events []bpf.Event) bool { return len(of(bpf.EventExit, events)) > 0 }

// TestExecutablePathsFromTheKernel runs programs the ways that used to hide
// their real path (a relative path, execveat of an fd, a memfd, a script,
// a bind mount) and checks the path and working directory the kernel side
// resolves against the file system itself.
func TestExecutablePathsFromTheKernel(t *testing.T) {
	kerneltest.Require(t)
	kerneltest.Exclusive(t)
	p, err := bpf.Open(bpf.Options{IncludeThreads: true})
	if err != nil {
		t.Fatal(err)
	}
	rec := collect(t, p)
	defer func() {
		p.Close()
		<-rec.done
	}()

	dir := t.TempDir()
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	trueBin, err := filepath.EvalSymlinks("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	shBin, err := filepath.EvalSymlinks("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	self, err = filepath.EvalSymlinks(self)
	if err != nil {
		t.Fatal(err)
	}
	copyFile(t, trueBin, filepath.Join(dir, "prog"))
	copyFile(t, self, filepath.Join(dir, "threads-helper"))
	if err := os.WriteFile(filepath.Join(dir, "script.sh"), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// The same directory bind-mounted elsewhere: the path names the mount
	// point the program was run through.
	bound := filepath.Join(dir, "bound")
	if err := os.Mkdir(bound, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount(dir, bound, "", unix.MS_BIND, ""); err != nil {
		t.Fatalf("bind mount: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(bound, unix.MNT_DETACH) })

	run := func(cmd *exec.Cmd) int {
		t.Helper()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v: %s", cmd.Args, err, out)
		}
		return cmd.Process.Pid
	}
	helper := func(mode string) *exec.Cmd {
		cmd := exec.Command(self)
		cmd.Env = append(os.Environ(), helperEnv+"="+mode)
		return cmd
	}

	relative := exec.Command("./prog")
	relative.Dir = dir
	threads := exec.Command(filepath.Join(dir, "threads-helper"))
	threads.Env = append(os.Environ(), helperEnv+"=threads")
	cases := []struct {
		name, path, cwd string
		fileless        bool
		cmd             *exec.Cmd
	}{
		{"absolute", trueBin, "", false, exec.Command("/bin/true")},
		{"relative", filepath.Join(realDir, "prog"), realDir, false, relative},
		{"execveat of an fd", trueBin, "", false, helper("execveat")},
		{"memfd", "memfd:linnix-test", "", true, helper("memfd")},
		{"script: its interpreter", shBin, "", false, exec.Command(filepath.Join(dir, "script.sh"))},
		{"bind mount", filepath.Join(realDir, "bound", "prog"), "", false, exec.Command(filepath.Join(bound, "prog"))},
		{"threads", filepath.Join(realDir, "threads-helper"), "", false, threads},
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		pid := run(c.cmd)
		events := rec.wait(t, pid, hasExit)
		execs := of(bpf.EventExec, events)
		if len(execs) == 0 {
			t.Errorf("%s: no exec record", c.name)
			continue
		}
		last := execs[len(execs)-1]
		if last.Filename != c.path {
			t.Errorf("%s: executable %q, want %q", c.name, last.Filename, c.path)
		}
		if last.Fileless() != c.fileless {
			t.Errorf("%s: fileless %v", c.name, last.Fileless())
		}
		cwd := c.cwd
		if cwd == "" {
			cwd = wd
		}
		if last.Cwd != cwd {
			t.Errorf("%s: working directory %q, want %q", c.name, last.Cwd, cwd)
		}
		// The child's own fork record names the image it was forked with:
		// this test binary's.
		for _, f := range of(bpf.EventFork, events) {
			if !f.IsThread() && f.Filename != self {
				t.Errorf("%s: fork record names %q, want the parent's image %q", c.name, f.Filename, self)
			}
		}
		if c.name == "script: its interpreter" && !slices.Contains(last.Argv, filepath.Join(dir, "script.sh")) {
			t.Errorf("script path missing from argv %q", last.Argv)
		}
		if c.name == "threads" {
			n := 0
			for _, f := range of(bpf.EventFork, events) {
				if f.IsThread() {
					n++
					if f.Filename != c.path {
						t.Errorf("thread %d of %d names %q, want its process's %q", f.TID, pid, f.Filename, c.path)
					}
				}
			}
			if n < 3 {
				t.Errorf("%d thread fork records, want at least 3", n)
			}
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestExecutablesOfRunningProcesses checks the executables iterator, which
// names the processes that predate the collector, against /proc/PID/exe as
// root reads it: every process of this mount namespace and root, plus a
// relative-path program and a memfd, which /proc cannot name as a path.
func TestExecutablesOfRunningProcesses(t *testing.T) {
	kerneltest.Require(t)
	dir := t.TempDir()
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	sleepBin, err := filepath.EvalSymlinks("/bin/sleep")
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	copyFile(t, sleepBin, filepath.Join(dir, "prog"))
	start := func(cmd *exec.Cmd) int {
		t.Helper()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd.Process.Pid
	}
	relative := exec.Command("./prog", "30")
	relative.Dir = dir
	relPID := start(relative)
	memfd := exec.Command(self)
	memfd.Env = append(os.Environ(), helperEnv+"=memfd-sleep")
	memfdPID := start(memfd)
	// The memfd helper has exec'd once /proc names the memfd.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if l, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", memfdPID)); strings.HasPrefix(l, "/memfd:linnix-sleep") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the memfd helper did not exec")
		}
		time.Sleep(10 * time.Millisecond)
	}

	p, err := bpf.Open(bpf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	exes, err := p.ReadExecutables()
	if err != nil {
		t.Fatal(err)
	}

	if e := exes[uint32(relPID)]; e.Path != filepath.Join(realDir, "prog") || e.Fileless || e.Truncated {
		t.Errorf("relative-path program: %+v, want %s", e, filepath.Join(realDir, "prog"))
	}
	if e := exes[uint32(memfdPID)]; e.Path != "memfd:linnix-sleep" || !e.Fileless {
		t.Errorf("memfd program: %+v, want memfd:linnix-sleep, fileless", e)
	}
	if _, ok := exes[2]; ok {
		t.Error("kthreadd (pid 2) listed: kernel threads have no executable")
	}

	// Start times are /proc's, floored to the tick: the snapshot matches
	// them exactly.
	for _, pid := range []int{relPID, memfdPID} {
		ticks, ok := startTicks(t, fmt.Sprintf("/proc/%d", pid))
		if e := exes[uint32(pid)]; !ok || e.StartTime/tickNs != ticks {
			t.Errorf("pid %d: iterator start %d ns, /proc start %d ticks", pid, e.StartTime, ticks)
		}
	}

	// Every other process: a mismatch is checked again with a fresh
	// iterator run, since a process may exec between the run and its
	// /proc read.
	mismatched, compared := compareWithProc(t, exes, memfdPID, nil)
	if len(mismatched) > 0 {
		if exes, err = p.ReadExecutables(); err != nil {
			t.Fatal(err)
		}
		mismatched, _ = compareWithProc(t, exes, memfdPID, mismatched)
		for pid, m := range mismatched {
			t.Errorf("pid %d: %s", pid, m)
		}
	}
	// This test, its helpers and the host's own processes at least.
	if compared < 4 {
		t.Errorf("compared %d processes with /proc", compared)
	}
}

// compareWithProc compares the iterator's paths with /proc/PID/exe as root
// reads it, for the processes of this mount namespace and root that the
// iterator listed with the same start time (only pids in only, unless nil),
// and returns the mismatches and how many it compared.
func compareWithProc(t *testing.T, exes map[uint32]bpf.Executable, skip int, only map[uint32]string) (map[uint32]string, int) {
	t.Helper()
	ownNS, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	mismatched := map[uint32]string{}
	compared := 0
	for _, ent := range entries {
		pid, err := strconv.ParseUint(ent.Name(), 10, 32)
		if err != nil || int(pid) == skip {
			continue
		}
		if _, ok := only[uint32(pid)]; only != nil && !ok {
			continue
		}
		proc := filepath.Join("/proc", ent.Name())
		want, err := os.Readlink(filepath.Join(proc, "exe"))
		if err != nil || strings.HasSuffix(want, " (deleted)") {
			continue // a kernel thread, gone, or denied even to root
		}
		// A process that sees another file system names its files as
		// it sees them, not as /proc shows them here.
		if ns, _ := os.Readlink(filepath.Join(proc, "ns", "mnt")); ns != ownNS {
			continue
		}
		if root, _ := os.Readlink(filepath.Join(proc, "root")); root != "/" {
			continue
		}
		ticks, ok := startTicks(t, proc)
		e, listed := exes[uint32(pid)]
		if !ok || !listed || e.StartTime/tickNs != ticks {
			continue // started after the iterator ran, or a reused pid
		}
		compared++
		if e.Path != want || e.Truncated {
			mismatched[uint32(pid)] = fmt.Sprintf("iterator names %q (truncated %v), /proc/%d/exe %q", e.Path, e.Truncated, pid, want)
		}
	}
	return mismatched, compared
}

// tickNs is a /proc clock tick (USER_HZ is 100 on Linux).
const tickNs = 10_000_000

// startTicks reads a process's start time, in clock ticks since boot, from
// its /proc/PID/stat (field 22, counted after the command's last ')').
func startTicks(t *testing.T, proc string) (uint64, bool) {
	t.Helper()
	stat, err := os.ReadFile(filepath.Join(proc, "stat"))
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) < 20 {
		return 0, false
	}
	v, err := strconv.ParseUint(fields[19], 10, 64)
	return v, err == nil
}
