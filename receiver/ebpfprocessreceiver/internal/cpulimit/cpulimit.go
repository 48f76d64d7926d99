// Package cpulimit finds the CPU quota each process runs under: the lowest
// quota of its cgroup and the cgroup's ancestors (cgroup v2 cpu.max, v1
// cpu.cfs_quota_us / cpu.cfs_period_us of the cpu controller's hierarchy),
// in cores.
//
// It reads cgroupfs per cgroup, never per process: a scan visits every
// cgroup of the hierarchy that has the cpu controller once, and lists the
// processes (cgroup.procs) only of cgroups under a quota. On a hybrid host
// the cpu controller's v1 path of a process need not be the path its
// lifecycle records carry (the memory controller's), which is why
// membership comes from the cgroups themselves.
package cpulimit

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver/internal/cgroupfs"
)

// maxDepth bounds the walk down the hierarchy.
const maxDepth = 32

// Limits scans one cgroup hierarchy. It is not safe for concurrent use.
type Limits struct {
	// mount is the hierarchy with the cpu controller ("" when none), v2
	// whether it is the unified (cgroup v2) one.
	mount string
	v2    bool
	byPID map[uint32]float64
	buf   []byte
}

// New finds the hierarchy that has the cpu controller under root ("/" on a
// host), from root/proc/self/mountinfo or, failing that, at the
// conventional places under root/sys/fs/cgroup.
func New(root string) *Limits {
	l := &Limits{byPID: map[uint32]float64{}}
	l.mount, l.v2 = cpuMount(root)
	return l
}

// Available says whether a hierarchy with the cpu controller was found.
func (l *Limits) Available() bool { return l.mount != "" }

// Scan reads every cgroup's quota and returns the limit in cores of each
// process under one; processes without a limit are absent. The map is
// reused by the next Scan.
func (l *Limits) Scan() map[uint32]float64 {
	clear(l.byPID)
	if l.mount != "" {
		l.walk(l.mount, 0, 0)
	}
	return l.byPID
}

// walk visits dir, whose ancestors allow inherited cores (0: no limit).
func (l *Limits) walk(dir string, inherited float64, depth int) {
	limit := inherited
	if own, ok := l.quota(dir); ok && (limit == 0 || own < limit) {
		limit = own
	}
	if limit > 0 {
		l.members(filepath.Join(dir, "cgroup.procs"), limit)
	}
	if depth >= maxDepth {
		return
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() {
			l.walk(filepath.Join(dir, e.Name()), limit, depth+1)
		}
	}
}

// quota reads dir's own quota in cores; ok is false for none.
func (l *Limits) quota(dir string) (float64, bool) {
	if l.v2 {
		data, ok := l.read(filepath.Join(dir, "cpu.max"))
		if !ok {
			return 0, false
		}
		return ParseV2(data)
	}
	// Both files share the read buffer: the quota is copied out first.
	q, ok := l.read(filepath.Join(dir, "cpu.cfs_quota_us"))
	if !ok {
		return 0, false
	}
	quota := string(q)
	p, ok := l.read(filepath.Join(dir, "cpu.cfs_period_us"))
	if !ok {
		return 0, false
	}
	return ParseV1([]byte(quota), p)
}

func (l *Limits) members(procs string, limit float64) {
	data, ok := l.read(procs)
	if !ok {
		return
	}
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte{'\n'})
		if pid, err := strconv.ParseUint(string(line), 10, 32); err == nil {
			l.byPID[uint32(pid)] = limit
		}
	}
}

// read reads a small cgroupfs file into the scan's buffer, valid until the
// next read.
func (l *Limits) read(file string) ([]byte, bool) {
	f, err := os.Open(file)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	if cap(l.buf) == 0 {
		l.buf = make([]byte, 0, 4096)
	}
	l.buf = l.buf[:0]
	for {
		if len(l.buf) == cap(l.buf) {
			l.buf = append(l.buf, 0)[:len(l.buf)]
		}
		n, err := f.Read(l.buf[len(l.buf):cap(l.buf)])
		l.buf = l.buf[:len(l.buf)+n]
		if err != nil || n == 0 {
			return l.buf, true
		}
	}
}

// ParseV2 parses cgroup v2 cpu.max ("$QUOTA $PERIOD" in µs, or "max
// $PERIOD"); ok is false for no limit.
func ParseV2(data []byte) (float64, bool) {
	f := strings.Fields(string(data))
	if len(f) == 0 || f[0] == "max" {
		return 0, false
	}
	period := 100000.0 // the kernel's default when the period is omitted
	if len(f) > 1 {
		p, err := strconv.ParseFloat(f[1], 64)
		if err != nil || p <= 0 {
			return 0, false
		}
		period = p
	}
	q, err := strconv.ParseFloat(f[0], 64)
	if err != nil || q <= 0 {
		return 0, false
	}
	return q / period, true
}

// ParseV1 parses cgroup v1 cpu.cfs_quota_us (-1: no limit) and
// cpu.cfs_period_us; ok is false for no limit.
func ParseV1(quota, period []byte) (float64, bool) {
	q, err1 := strconv.ParseFloat(string(bytes.TrimSpace(quota)), 64)
	p, err2 := strconv.ParseFloat(string(bytes.TrimSpace(period)), 64)
	if err1 != nil || err2 != nil || q <= 0 || p <= 0 {
		return 0, false
	}
	return q / p, true
}

// cpuMount finds the hierarchy with the cpu controller: the cgroup2 mount
// when its root lists cpu in cgroup.controllers, else the v1 mount whose
// options name cpu. A mount of a cgroup below its hierarchy's root (a cgroup
// namespace) is skipped: it cannot see the host's cgroups.
func cpuMount(root string) (mount string, v2 bool) {
	unified, v1 := cgroupfs.Mounts(root, "cpu", "cpu/cpu.cfs_quota_us")
	if unified != "" {
		data, _ := os.ReadFile(filepath.Join(unified, "cgroup.controllers"))
		for _, c := range strings.Fields(string(data)) {
			if c == "cpu" {
				return unified, true
			}
		}
	}
	return v1, false
}
