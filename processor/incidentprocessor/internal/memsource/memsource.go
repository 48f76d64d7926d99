// Package memsource reads the memory limits incidents are measured against:
// a process's cgroup memory limit (v2 memory.max, v1 memory.limit_in_bytes)
// and the host's MemTotal and MemAvailable.
package memsource

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Source answers memory questions; the engine's tests substitute their own.
type Source interface {
	// Host returns MemTotal and MemAvailable in bytes.
	Host() (total, available float64, ok bool)
	// CgroupLimit returns the memory limit of the cgroup named by a
	// process.linux.cgroup value ("0::/path" or "4:memory:/path"); ok is
	// false when there is none.
	CgroupLimit(cgroupLine string) (limit float64, ok bool)
}

// System reads /proc and /sys/fs/cgroup, caching cgroup limits briefly:
// one collection asks for the same cgroups many times.
type System struct {
	Root string // "/" in production

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	limit float64
	ok    bool
	at    time.Time
}

const cacheFor = 30 * time.Second

// noLimit: v1 reports "unlimited" as a huge page-aligned number.
const noLimit = 1 << 62

// Host implements Source.
func (s *System) Host() (total, available float64, ok bool) {
	f, err := os.Open(filepath.Join(s.Root, "proc/meminfo"))
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	var haveTotal, haveAvail bool
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		v, err := strconv.ParseFloat(fields[1], 64)
		if err != nil {
			continue
		}
		switch fields[0] {
		case "MemTotal:":
			total, haveTotal = v*1024, true
		case "MemAvailable:":
			available, haveAvail = v*1024, true
		}
	}
	return total, available, haveTotal && haveAvail
}

// CgroupLimit implements Source.
func (s *System) CgroupLimit(line string) (float64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.cache[line]; ok && time.Since(c.at) < cacheFor {
		return c.limit, c.ok
	}
	limit, ok := s.read(line)
	if s.cache == nil {
		s.cache = map[string]cached{}
	}
	if len(s.cache) > 4096 {
		clear(s.cache)
	}
	s.cache[line] = cached{limit: limit, ok: ok, at: time.Now()}
	return limit, ok
}

func (s *System) read(line string) (float64, bool) {
	parts := strings.SplitN(line, ":", 3)
	if len(parts) != 3 || !strings.HasPrefix(parts[2], "/") {
		return 0, false
	}
	path := filepath.Clean(parts[2])
	var file string
	switch {
	case parts[0] == "0" && parts[1] == "":
		file = filepath.Join(s.Root, "sys/fs/cgroup", s.v2Mount(), path, "memory.max")
	case strings.Contains(","+parts[1]+",", ",memory,"):
		file = filepath.Join(s.Root, "sys/fs/cgroup/memory", path, "memory.limit_in_bytes")
	default:
		return 0, false
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return 0, false
	}
	v := strings.TrimSpace(string(data))
	if v == "max" {
		return 0, false
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || n <= 0 || n >= noLimit {
		return 0, false
	}
	return n, true
}

// v2Mount is "" on a pure cgroup v2 host and "unified" on a hybrid one.
func (s *System) v2Mount() string {
	if _, err := os.Stat(filepath.Join(s.Root, "sys/fs/cgroup/cgroup.controllers")); err == nil {
		return ""
	}
	return "unified"
}
