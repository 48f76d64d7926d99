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

// Snapshot adds every process visible under procRoot (normally /proc);
// args maps each command line through the collection policy before it is
// stored. Processes that vanish while being read are skipped. denied counts
// the processes whose executable link it may not read: those of other users
// without CAP_SYS_PTRACE, which keep their command line but no path.
func (t *Table) Snapshot(procRoot string, args func([]string) []string) (denied int, err error) {
	entries, err := os.ReadDir(procRoot)
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		pid, err := strconv.ParseUint(e.Name(), 10, 32)
		if err != nil {
			continue
		}
		info, ok, exeDenied := readProc(filepath.Join(procRoot, e.Name()), args)
		if exeDenied {
			denied++
		}
		if ok {
			t.Put(uint32(pid), info)
		}
	}
	return denied, nil
}

func readProc(dir string, args func([]string) []string) (info Info, ok, exeDenied bool) {
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return Info{}, false, false
	}
	start, ok := statStartTicks(stat)
	if !ok {
		return Info{}, false, false
	}
	info = Info{StartTime: start * TickNs, Coarse: true}
	info.ExePath, err = exePath(dir)
	// EACCES or EPERM; kernel threads and vanished processes give ENOENT.
	exeDenied = errors.Is(err, fs.ErrPermission)
	info.CgroupPath, info.CgroupLine = CgroupFromProc(dir)
	if cmdline, err := os.ReadFile(filepath.Join(dir, "cmdline")); err == nil && len(cmdline) > 0 {
		info.Args = args(strings.Split(string(bytes.TrimSuffix(cmdline, []byte{0})), "\x00"))
	}
	return info, info.ExePath != "" || len(info.Args) > 0, exeDenied
}

// exePath resolves a /proc/PID directory's exe link.
func exePath(procDir string) (string, error) {
	p, err := os.Readlink(filepath.Join(procDir, "exe"))
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(p, " (deleted)"), nil
}

// statStartTicks reads field 22 of /proc/PID/stat. The command name (field
// 2) may hold spaces and parentheses, so fields are counted after its last ')'.
func statStartTicks(stat []byte) (uint64, bool) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	fields := strings.Fields(string(stat[i+1:]))
	const startField = 22 - 3 // fields after the name start at field 3
	if len(fields) <= startField {
		return 0, false
	}
	v, err := strconv.ParseUint(fields[startField], 10, 64)
	return v, err == nil
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
