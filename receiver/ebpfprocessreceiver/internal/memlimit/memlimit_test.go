package memlimit

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func write(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, rel)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
}

func TestCgroupV2(t *testing.T) {
	root := t.TempDir()
	write(t, root, "sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n")
	write(t, root, "sys/fs/cgroup/kubepods/memory.max", "max\n")
	write(t, root, "sys/fs/cgroup/kubepods/pod1/memory.max", "536870912\n")
	write(t, root, "sys/fs/cgroup/kubepods/pod1/ctr/memory.max", "max\n")
	write(t, root, "sys/fs/cgroup/kubepods/pod1/small/memory.max", "1048576\n")
	write(t, root, "sys/fs/cgroup/system.slice/memory.max", "max\n")
	c := NewCgroups(root, time.Minute)

	for line, want := range map[string]int64{
		"0::/kubepods/pod1":       512 << 20,
		"0::/kubepods/pod1/ctr":   512 << 20, // the parent's limit binds it
		"0::/kubepods/pod1/small": 1 << 20,   // the lowest wins
	} {
		got, ok := c.Limit(line, 0)
		assert.True(t, ok, line)
		assert.Equal(t, want, got, line)
	}
	for _, line := range []string{"0::/system.slice", "0::/", "0::/gone", "garbage", "0::relative", "4:memory:/kubepods/pod1"} {
		_, ok := c.Limit(line, 0)
		assert.False(t, ok, line)
	}
	assert.False(t, c.ByProcess("0::/kubepods/pod1"), "v2 holds the memory controller")
}

func TestCgroupV1Hybrid(t *testing.T) {
	root := t.TempDir()
	write(t, root, "proc/self/mountinfo", `30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
34 30 0:31 / /sys/fs/cgroup/mem\040ory rw,relatime - cgroup cgroup rw,memory
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`)
	write(t, root, "sys/fs/cgroup/unified/cgroup.controllers", "\n")
	mem := "sys/fs/cgroup/mem ory/"
	write(t, root, mem+"memory.limit_in_bytes", "9223372036854771712\n")
	write(t, root, mem+"docker/memory.limit_in_bytes", "9223372036854771712\n")
	write(t, root, mem+"docker/abc/memory.limit_in_bytes", "268435456\n")
	write(t, root, "proc/42/cgroup", "9:name=systemd:/\n4:memory:/docker/abc\n1:cpu:/\n0::/system.slice/docker.service\n")
	c := NewCgroups(root, time.Minute)

	got, ok := c.Limit("4:memory:/docker/abc", 0)
	assert.True(t, ok)
	assert.Equal(t, int64(256<<20), got)
	got, ok = c.Limit("7:cpu,memory:/docker/abc", 0)
	assert.True(t, ok, "memory among other controllers")
	assert.Equal(t, int64(256<<20), got)
	_, ok = c.Limit("4:memory:/docker", 0)
	assert.False(t, ok, "v1's 'unlimited' is a huge number")
	_, ok = c.Limit("1:cpu:/docker/abc", 0)
	assert.False(t, ok, "no memory controller on that hierarchy")

	// A v2 line on a host whose v2 hierarchy has no memory controller: the
	// process's v1 memory cgroup holds the limit.
	got, ok = c.Limit("0::/system.slice/docker.service", 42)
	assert.True(t, ok)
	assert.Equal(t, int64(256<<20), got)
	_, ok = c.Limit("0::/system.slice/docker.service", 0)
	assert.False(t, ok, "no pid, no v1 path")
	_, ok = c.Limit("0::/", 43)
	assert.False(t, ok, "the process is gone")

	// Only the v2 lines depend on the process.
	assert.True(t, c.ByProcess("0::/system.slice/docker.service"))
	assert.False(t, c.ByProcess("4:memory:/docker/abc"))
	assert.False(t, c.ByProcess("1:cpu:/docker/abc"))
}

func TestCgroupCache(t *testing.T) {
	root := t.TempDir()
	write(t, root, "sys/fs/cgroup/cgroup.controllers", "memory\n")
	write(t, root, "sys/fs/cgroup/a/memory.max", "1000\n")
	c := NewCgroups(root, 5*time.Second)
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }

	got, _ := c.Limit("0::/a", 0)
	assert.Equal(t, int64(1000), got)
	write(t, root, "sys/fs/cgroup/a/memory.max", "2000\n")
	got, _ = c.Limit("0::/a", 0)
	assert.Equal(t, int64(1000), got, "cached")
	now = now.Add(6 * time.Second)
	got, _ = c.Limit("0::/a", 0)
	assert.Equal(t, int64(2000), got, "read again after the TTL")
}

func TestNoCgroupfs(t *testing.T) {
	c := NewCgroups(t.TempDir(), time.Minute)
	_, ok := c.Limit("0::/a", 1)
	assert.False(t, ok)
	_, ok = c.Limit("4:memory:/a", 1)
	assert.False(t, ok)
}

func TestReadHost(t *testing.T) {
	root := t.TempDir()
	write(t, root, "proc/meminfo", "MemTotal:       16318480 kB\nMemFree:         1000000 kB\nMemAvailable:   12000000 kB\nBuffers:  1 kB\n")
	h, ok := ReadHost(root)
	require.True(t, ok)
	assert.Equal(t, Host{Total: 16318480 * 1024, Available: 12000000 * 1024}, h)

	write(t, root, "proc/meminfo", "MemTotal:       16318480 kB\n") // kernels before 3.14
	_, ok = ReadHost(root)
	assert.False(t, ok)
	_, ok = ReadHost(t.TempDir())
	assert.False(t, ok)
}

func TestThisHost(t *testing.T) {
	h, ok := ReadHost("/")
	if !ok {
		t.Skip("no /proc/meminfo")
	}
	assert.Positive(t, h.Total)
	assert.LessOrEqual(t, h.Available, h.Total)
}

// TestMissingCgroupIsNotItsAncestor: a path that is not under the mount
// (the collector in a cgroup namespace sees its own cgroup at the mount)
// must not answer with the mount root's limit.
func TestMissingCgroupIsNotItsAncestor(t *testing.T) {
	root := t.TempDir()
	write(t, root, "sys/fs/cgroup/cgroup.controllers", "memory pids\n")
	write(t, root, "sys/fs/cgroup/memory.max", "268435456\n") // the collector's own limit
	c := NewCgroups(root, time.Minute)
	_, ok := c.Limit("0::/system.slice/nginx.service", 0)
	assert.False(t, ok)
}

// TestNamespacedMountsAreNotUsed: cgroup mounts whose root is not the
// hierarchy's root cannot resolve host paths, and the usual paths under
// /sys/fs/cgroup are the same mounts: no answer rather than a wrong one.
func TestNamespacedMountsAreNotUsed(t *testing.T) {
	root := t.TempDir()
	write(t, root, "proc/self/mountinfo", "40 30 0:37 /kubepods/pod1/ctr /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw\n")
	write(t, root, "sys/fs/cgroup/cgroup.controllers", "memory pids\n")
	write(t, root, "sys/fs/cgroup/memory.max", "268435456\n")
	write(t, root, "sys/fs/cgroup/kubepods/pod1/ctr/memory.max", "268435456\n")
	c := NewCgroups(root, time.Minute)
	_, ok := c.Limit("0::/kubepods/pod1/ctr", 0)
	assert.False(t, ok)
}
