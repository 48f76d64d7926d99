// Package proctable remembers what each live process executed, so that fork
// and exit records (which the kernel sends without a path or arguments) and
// records of processes that predate the collector carry the same attributes
// as the exec that started them.
package proctable

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// TickNs is the length of a USER_HZ clock tick, the unit of /proc start times.
const TickNs = 10_000_000

// Info is what the table knows about one process.
type Info struct {
	// StartTime is the CLOCK_BOOTTIME creation time in nanoseconds.
	StartTime uint64
	// Coarse marks a start time read from /proc, precise to one tick only.
	Coarse        bool
	ExePath       string
	Args          []string
	ArgsTruncated bool
	// CgroupPath is the path the receiver reports (see CgroupFromProc), and
	// CgroupLine the same as a /proc/PID/cgroup line (process.linux.cgroup).
	CgroupPath, CgroupLine string
}

// Table maps live pids to their Info. Entries leave with their process's exit
// record; a pid reused after a lost exit record is overwritten, so the table
// never holds more entries than the pid space.
type Table struct {
	mu sync.RWMutex
	m  map[uint32]Info
}

// New returns an empty table.
func New() *Table { return &Table{m: make(map[uint32]Info)} }

// Put records pid's info, replacing an older process with the same pid.
func (t *Table) Put(pid uint32, info Info) {
	t.mu.Lock()
	t.m[pid] = info
	t.mu.Unlock()
}

// Get returns pid's info if it belongs to the process started at start.
func (t *Table) Get(pid uint32, start uint64) (Info, bool) {
	t.mu.RLock()
	info, ok := t.m[pid]
	t.mu.RUnlock()
	if !ok {
		return Info{}, false
	}
	if info.StartTime == start || info.Coarse && info.StartTime/TickNs == start/TickNs {
		return info, true
	}
	return Info{}, false
}

// Lookup returns pid's info whatever its start time: for a fork's parent,
// which is alive, so its pid cannot have been reused.
func (t *Table) Lookup(pid uint32) (Info, bool) {
	t.mu.RLock()
	info, ok := t.m[pid]
	t.mu.RUnlock()
	return info, ok
}

// Remove forgets pid.
func (t *Table) Remove(pid uint32) {
	t.mu.Lock()
	delete(t.m, pid)
	t.mu.Unlock()
}

// Len is the number of processes tracked.
func (t *Table) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.m)
}

// ExeLookup names a running process's executable, given its pid and start
// time (in nanoseconds since boot, to the tick): the kernel side's answer.
// ok is false where it has none for that process.
type ExeLookup func(pid uint32, start uint64) (path string, ok bool)

// Snapshot adds every process visible under procRoot (normally /proc);
// args maps each command line through the collection policy before it is
// stored, exe names executables (nil: none). Processes that vanish while
// being read are skipped. Where exe has no answer, the executable link is
// read; denied counts the processes whose link it may not read (other
// users' without CAP_SYS_PTRACE), which keep their command line but no path.
func (t *Table) Snapshot(procRoot string, args func([]string) []string, exe ExeLookup) (denied int, err error) {
	entries, err := os.ReadDir(procRoot)
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		pid, err := strconv.ParseUint(e.Name(), 10, 32)
		if err != nil {
			continue
		}
		info, ok, exeDenied := readProc(uint32(pid), filepath.Join(procRoot, e.Name()), args, exe)
		if exeDenied {
			denied++
		}
		if ok {
			t.Put(uint32(pid), info)
		}
	}
	return denied, nil
}

func readProc(pid uint32, dir string, args func([]string) []string, exe ExeLookup) (info Info, ok, exeDenied bool) {
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return Info{}, false, false
	}
	st, ok := parseStat(stat)
	// A kernel thread has no executable nor command line; its exe link is
	// denied, not missing, to a reader without CAP_SYS_PTRACE.
	if !ok || st.kthread {
		return Info{}, false, false
	}
	info = Info{StartTime: st.startTicks * TickNs, Coarse: true}
	if p, known := lookup(exe, pid, info.StartTime); known {
		info.ExePath = p
	} else {
		info.ExePath, err = exePath(dir)
		// EACCES or EPERM; kernel threads and vanished processes give ENOENT.
		exeDenied = errors.Is(err, fs.ErrPermission)
	}
	info.CgroupPath, info.CgroupLine = CgroupFromProc(dir)
	if cmdline, err := os.ReadFile(filepath.Join(dir, "cmdline")); err == nil && len(cmdline) > 0 {
		info.Args = args(strings.Split(string(bytes.TrimSuffix(cmdline, []byte{0})), "\x00"))
	}
	return info, info.ExePath != "" || len(info.Args) > 0, exeDenied
}

func lookup(exe ExeLookup, pid uint32, start uint64) (string, bool) {
	if exe == nil {
		return "", false
	}
	return exe(pid, start)
}

// exePath resolves a /proc/PID directory's exe link.
func exePath(procDir string) (string, error) {
	p, err := os.Readlink(filepath.Join(procDir, "exe"))
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(p, " (deleted)"), nil
}

// procStat is what the snapshot reads of /proc/PID/stat.
type procStat struct {
	startTicks uint64 // field 22: start time in clock ticks since boot
	kthread    bool   // PF_KTHREAD in field 9, the task flags
}

// pfKthread is the kernel's PF_KTHREAD task flag.
const pfKthread = 0x00200000

// parseStat reads /proc/PID/stat. The command name (field 2) may hold
// spaces and parentheses, so fields are counted after its last ')'.
func parseStat(stat []byte) (procStat, bool) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return procStat{}, false
	}
	fields := strings.Fields(string(stat[i+1:]))
	const flagsField, startField = 9 - 3, 22 - 3 // fields after the name start at field 3
	if len(fields) <= startField {
		return procStat{}, false
	}
	start, err := strconv.ParseUint(fields[startField], 10, 64)
	if err != nil {
		return procStat{}, false
	}
	flags, err := strconv.ParseUint(fields[flagsField], 10, 64)
	if err != nil {
		return procStat{}, false
	}
	return procStat{startTicks: start, kthread: flags&pfKthread != 0}, true
}

// CgroupFromProc picks, from /proc/PID/cgroup, the cgroup the kernel side
// reports: the cgroup v2 one, unless the process sits at the v2 root of a
// host that still mounts v1 controllers, then the memory controller's. It
// returns the path and its whole line.
func CgroupFromProc(procDir string) (path, line string) {
	data, err := os.ReadFile(filepath.Join(procDir, "cgroup"))
	if err != nil {
		return "", ""
	}
	var v2, memory [2]string
	for _, l := range strings.Split(string(data), "\n") {
		parts := strings.SplitN(l, ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			v2 = [2]string{parts[2], l}
		case strings.Contains(","+parts[1]+",", ",memory,"):
			memory = [2]string{parts[2], l}
		}
	}
	if (v2[0] == "" || v2[0] == "/") && memory[0] != "" {
		return memory[0], memory[1]
	}
	return v2[0], v2[1]
}
