package cpulimit

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func write(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, rel)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
}

// A pure cgroup v2 host: the unified hierarchy has the cpu controller.
func TestScanV2(t *testing.T) {
	root := t.TempDir()
	write(t, root, "proc/self/mountinfo", "30 1 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n")
	cg := "sys/fs/cgroup/"
	write(t, root, cg+"cgroup.controllers", "cpuset cpu io memory pids\n")
	write(t, root, cg+"cgroup.procs", "1\n2\n")
	// A pod limited to 2 cores, its container to 0.5: the container's
	// processes get the lower, the pod's own the pod's.
	write(t, root, cg+"kubepods/cpu.max", "max 100000\n")
	write(t, root, cg+"kubepods/pod1/cpu.max", "200000 100000\n")
	write(t, root, cg+"kubepods/pod1/cgroup.procs", "10\n")
	write(t, root, cg+"kubepods/pod1/c1/cpu.max", "25000 50000\n")
	write(t, root, cg+"kubepods/pod1/c1/cgroup.procs", "11\n12\n")
	// A child with a higher quota than its parent's: the parent's binds.
	write(t, root, cg+"kubepods/pod1/c2/cpu.max", "800000 100000\n")
	write(t, root, cg+"kubepods/pod1/c2/cgroup.procs", "13\n")
	// No cpu.max (controller not enabled for the child): inherited.
	write(t, root, cg+"kubepods/pod1/c3/cgroup.procs", "14\n")
	// Unlimited everywhere.
	write(t, root, cg+"system.slice/cpu.max", "max 100000\n")
	write(t, root, cg+"system.slice/cgroup.procs", "20\n")

	l := New(root)
	require.True(t, l.Available())
	got := l.Scan()
	assert.Equal(t, map[uint32]float64{10: 2, 11: 0.5, 12: 0.5, 13: 2, 14: 2}, got)

	// The next scan sees a process that moved and a limit lifted.
	write(t, root, cg+"kubepods/pod1/c1/cgroup.procs", "11\n")
	write(t, root, cg+"kubepods/pod1/c2/cgroup.procs", "13\n12\n")
	write(t, root, cg+"kubepods/pod1/cpu.max", "max 100000\n")
	got = l.Scan()
	assert.Equal(t, map[uint32]float64{11: 0.5, 12: 8, 13: 8}, got)
}

// A hybrid host, as the test machines are: the unified hierarchy has no cpu
// controller, v1 has it (mounted with cpuacct here, alone elsewhere).
func TestScanV1Hybrid(t *testing.T) {
	root := t.TempDir()
	write(t, root, "proc/self/mountinfo",
		"25 24 0:22 / /sys/fs/cgroup ro - tmpfs tmpfs ro\n"+
			"26 25 0:23 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"+
			"28 25 0:25 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"+
			"29 25 0:26 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n")
	write(t, root, "sys/fs/cgroup/unified/cgroup.controllers", "hugetlb\n")
	cg := "sys/fs/cgroup/cpu,cpuacct/"
	write(t, root, cg+"cpu.cfs_quota_us", "-1\n")
	write(t, root, cg+"cpu.cfs_period_us", "100000\n")
	write(t, root, cg+"cgroup.procs", "1\n")
	write(t, root, cg+"docker/cpu.cfs_quota_us", "-1\n")
	write(t, root, cg+"docker/cpu.cfs_period_us", "100000\n")
	write(t, root, cg+"docker/abc/cpu.cfs_quota_us", "150000\n")
	write(t, root, cg+"docker/abc/cpu.cfs_period_us", "100000\n")
	write(t, root, cg+"docker/abc/cgroup.procs", "100\n101\n")
	write(t, root, cg+"test/cpu.cfs_quota_us", "50000\n")
	write(t, root, cg+"test/cpu.cfs_period_us", "100000\n")
	write(t, root, cg+"test/cgroup.procs", "")

	l := New(root)
	require.True(t, l.Available())
	assert.Equal(t, map[uint32]float64{100: 1.5, 101: 1.5}, l.Scan())
}

// Without mountinfo, the conventional v1 place is used.
func TestScanV1Conventional(t *testing.T) {
	root := t.TempDir()
	cg := "sys/fs/cgroup/cpu/"
	write(t, root, cg+"cpu.cfs_quota_us", "-1\n")
	write(t, root, cg+"cpu.cfs_period_us", "100000\n")
	write(t, root, cg+"batch/cpu.cfs_quota_us", "50000\n")
	write(t, root, cg+"batch/cpu.cfs_period_us", "100000\n")
	write(t, root, cg+"batch/cgroup.procs", "7\n")
	assert.Equal(t, map[uint32]float64{7: 0.5}, New(root).Scan())
}

func TestNoCPUController(t *testing.T) {
	root := t.TempDir()
	write(t, root, "proc/self/mountinfo", "26 25 0:23 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n")
	write(t, root, "sys/fs/cgroup/unified/cgroup.controllers", "hugetlb\n")
	l := New(root)
	assert.False(t, l.Available())
	assert.Empty(t, l.Scan())
}

// A cgroup namespace's mount (root field not "/") cannot name host cgroups.
func TestNamespacedMountSkipped(t *testing.T) {
	root := t.TempDir()
	write(t, root, "proc/self/mountinfo", "30 1 0:26 /kubepods/pod1 /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n")
	write(t, root, "sys/fs/cgroup/cgroup.controllers", "cpu memory\n")
	assert.False(t, New(root).Available())
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"max 100000\n", 0, false},
		{"50000 100000\n", 0.5, true},
		{"300000\n", 3, true},
		{"", 0, false},
		{"x 100000", 0, false},
		{"50000 0", 0, false},
	} {
		got, ok := ParseV2([]byte(tc.in))
		assert.Equal(t, tc.ok, ok, tc.in)
		assert.InDelta(t, tc.want, got, 1e-9, tc.in)
	}
	got, ok := ParseV1([]byte("-1\n"), []byte("100000\n"))
	assert.False(t, ok)
	assert.Zero(t, got)
	got, ok = ParseV1([]byte("250000\n"), []byte("100000\n"))
	assert.True(t, ok)
	assert.InDelta(t, 2.5, got, 1e-9)
	_, ok = ParseV1([]byte("50000"), []byte("0"))
	assert.False(t, ok)
}
