// Package memlimit reads the memory limits processes run against: their
// cgroup's (v2 memory.max, v1 memory.limit_in_bytes) and the host's
// (/proc/meminfo). The receiver puts them on its metrics so that whatever
// judges memory downstream never reads the host it runs on.
package memlimit

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver/internal/cgroupfs"
)

// unlimited: cgroup v1 reports "no limit" as a huge page-aligned number
// (PAGE_COUNTER_MAX pages); anything this large is no limit.
const unlimited = 1 << 62

// maxDepth bounds the walk to the hierarchy root.
const maxDepth = 64

// Cgroups reads cgroup memory limits under a root directory ("/" on a
// host), caching each cgroup directory's value for TTL: one collection asks
// for the same cgroups many times, and limits rarely change. It is safe for
// concurrent use.
type Cgroups struct {
	root string
	ttl  time.Duration
	now  func() time.Time

	// v2 is the cgroup2 mount ("" when none), v1 the memory controller's
	// v1 mount ("" when none); v2Memory says whether the memory controller
	// is enabled on cgroup v2 (false on hybrid hosts, where v1 has it).
	v2, v1   string
	v2Memory bool

	mu    sync.Mutex
	cache map[string]entry  // per limit file
	walks map[walkKey]entry // per cgroup: the lowest limit up to the root
}

type walkKey struct{ mount, path string }

type entry struct {
	limit int64
	ok    bool
	at    time.Time
}

const maxCached = 8192

// NewCgroups finds the cgroup mounts under root, from root/proc/self/mountinfo
// or, failing that, at their conventional places under root/sys/fs/cgroup.
func NewCgroups(root string, ttl time.Duration) *Cgroups {
	c := &Cgroups{root: root, ttl: ttl, now: time.Now, cache: map[string]entry{}, walks: map[walkKey]entry{}}
	c.v2, c.v1 = mounts(root)
	if c.v2 != "" {
		data, _ := os.ReadFile(filepath.Join(c.v2, "cgroup.controllers"))
		for _, f := range strings.Fields(string(data)) {
			c.v2Memory = c.v2Memory || f == "memory"
		}
	}
	return c
}

// Limit returns the memory limit in bytes of the cgroup a process.linux.cgroup
// line names ("0::/path" on v2, "4:memory:/path" on v1): the lowest limit of
// the cgroup and its ancestors, which is the one the kernel enforces. ok is
// false when there is none or it cannot be read. On a hybrid host whose v2
// hierarchy has no memory controller, a v2 line is answered from the
// process's v1 memory cgroup, read from root/proc/PID/cgroup (pid 0: not
// known, no answer).
func (c *Cgroups) Limit(line string, pid int) (int64, bool) {
	id, controllers, path, ok := split(line)
	if !ok {
		return 0, false
	}
	switch {
	case id == "0" && controllers == "":
		if c.v2 != "" && c.v2Memory {
			return c.walk(c.v2, path, "memory.max")
		}
		if pid <= 0 || c.v1 == "" {
			return 0, false
		}
		v1Path, ok := memoryPathOf(filepath.Join(c.root, "proc", strconv.Itoa(pid), "cgroup"))
		if !ok {
			return 0, false
		}
		return c.walk(c.v1, v1Path, "memory.limit_in_bytes")
	case strings.Contains(","+controllers+",", ",memory,") && c.v1 != "":
		return c.walk(c.v1, path, "memory.limit_in_bytes")
	}
	return 0, false
}

// ByProcess says whether Limit answers line from the process's own
// /proc/PID/cgroup (a v2 line on a hybrid host, whose memory controller is
// on v1) rather than from the line alone, which callers may then reuse for
// every process of the cgroup.
func (c *Cgroups) ByProcess(line string) bool {
	id, controllers, _, ok := split(line)
	return ok && id == "0" && controllers == "" && !(c.v2 != "" && c.v2Memory)
}

// walk returns the lowest limit from mount/path up to the hierarchy root,
// cached for TTL as a whole: every process of a cgroup asks the same, and a
// walk is a stat and a file per level.
func (c *Cgroups) walk(mount, path, file string) (int64, bool) {
	key := walkKey{mount, path}
	now := c.now()
	c.mu.Lock()
	e, hit := c.walks[key]
	c.mu.Unlock()
	if hit && now.Sub(e.at) < c.ttl {
		return e.limit, e.ok
	}
	e = entry{at: now}
	e.limit, e.ok = c.walkUncached(mount, path, file)
	c.mu.Lock()
	if len(c.walks) >= maxCached {
		clear(c.walks)
	}
	c.walks[key] = e
	c.mu.Unlock()
	return e.limit, e.ok
}

// walkUncached is walk without its cache. A cgroup that is not there under
// the mount gives no answer rather than an ancestor's: inside a cgroup
// namespace the mount shows the collector's own cgroup, and its limit is
// not the process's.
func (c *Cgroups) walkUncached(mount, path, file string) (int64, bool) {
	path = filepath.Clean("/" + path)
	if !cgroupfs.Exists(filepath.Join(mount, path)) {
		return 0, false
	}
	var best int64
	found := false
	for i := 0; i < maxDepth; i++ {
		if limit, ok := c.read(filepath.Join(mount, path, file)); ok && (!found || limit < best) {
			best, found = limit, true
		}
		if path == "/" {
			break
		}
		path = filepath.Dir(path)
	}
	return best, found
}

func (c *Cgroups) read(file string) (int64, bool) {
	now := c.now()
	c.mu.Lock()
	e, hit := c.cache[file]
	c.mu.Unlock()
	if hit && now.Sub(e.at) < c.ttl {
		return e.limit, e.ok
	}
	e = entry{at: now}
	if data, err := os.ReadFile(file); err == nil {
		e.limit, e.ok = parseLimit(data)
	}
	c.mu.Lock()
	if len(c.cache) >= maxCached {
		clear(c.cache)
	}
	c.cache[file] = e
	c.mu.Unlock()
	return e.limit, e.ok
}

func parseLimit(data []byte) (int64, bool) {
	v := string(bytes.TrimSpace(data))
	if v == "max" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 || n >= unlimited {
		return 0, false
	}
	return n, true
}

// split cuts a /proc/PID/cgroup line without allocating: it runs once per
// reported process.
func split(line string) (id, controllers, path string, ok bool) {
	id, rest, ok1 := strings.Cut(line, ":")
	controllers, path, ok2 := strings.Cut(rest, ":")
	if !ok1 || !ok2 || !strings.HasPrefix(path, "/") {
		return "", "", "", false
	}
	return id, controllers, path, true
}

// memoryPathOf reads the v1 memory controller's path of a /proc/PID/cgroup.
func memoryPathOf(file string) (string, bool) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", false
	}
	for _, l := range strings.Split(string(data), "\n") {
		if _, controllers, path, ok := split(l); ok && strings.Contains(","+controllers+",", ",memory,") {
			return path, true
		}
	}
	return "", false
}

// mounts finds the cgroup2 mount and the v1 memory controller's mount.
func mounts(root string) (v2, v1 string) {
	return cgroupfs.Mounts(root, "memory", "memory/memory.limit_in_bytes")
}

// Host is the host's memory, in bytes.
type Host struct {
	Total, Available int64
}

// ReadHost reads MemTotal and MemAvailable from root/proc/meminfo; ok is
// false unless both are there.
func ReadHost(root string) (Host, bool) {
	data, err := os.ReadFile(filepath.Join(root, "proc/meminfo"))
	if err != nil {
		return Host{}, false
	}
	var h Host
	var haveTotal, haveAvail bool
	for _, l := range strings.Split(string(data), "\n") {
		name, rest, ok := strings.Cut(l, ":")
		if !ok || name != "MemTotal" && name != "MemAvailable" {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue
		}
		if len(f) > 1 && f[1] == "kB" {
			v *= 1024
		}
		if name == "MemTotal" {
			h.Total, haveTotal = v, true
		} else {
			h.Available, haveAvail = v, true
		}
	}
	return h, haveTotal && haveAvail
}
