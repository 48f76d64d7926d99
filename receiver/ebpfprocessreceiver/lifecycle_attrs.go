//go:build linux

package ebpfprocessreceiver

import (
	"github.com/linnix-os/otelcol-linnix/bpf"
	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver/internal/containerid"
)

// recordCgroup holds the attributes derived from a record's cgroup alone.
type recordCgroup struct {
	// line is process.linux.cgroup, the path as a /proc/PID/cgroup line.
	line string
	// containerID is container.id, "" outside a container.
	containerID string
}

type cgroupKey struct {
	hierarchy uint32
	path      string
}

// cgroupCache remembers recordCgroup per cgroup: the processes of a storm
// share a few cgroups, and each of their records would otherwise build the
// same line and scan the same path for a container id. The zero value is
// ready to use.
type cgroupCache struct {
	m map[cgroupKey]recordCgroup
	// lastKey and last repeat the latest answer: consecutive records
	// mostly share a cgroup, and comparing a path costs less than hashing it.
	lastKey cgroupKey
	last    recordCgroup
}

// maxCgroups bounds the cgroup cache; a host runs far fewer busy cgroups.
const maxCgroups = 4096

func (c *cgroupCache) of(e *bpf.Event) recordCgroup {
	k := cgroupKey{e.CgroupHierarchy, e.CgroupPath}
	if c.m != nil && k == c.lastKey {
		return c.last
	}
	a, ok := c.m[k]
	if !ok {
		if c.m == nil || len(c.m) >= maxCgroups {
			c.m = make(map[cgroupKey]recordCgroup)
		}
		a = recordCgroup{line: cgroupLine(e), containerID: containerid.FromCgroupPath(e.CgroupPath)}
		c.m[k] = a
	}
	c.lastKey, c.last = k, a
	return a
}
