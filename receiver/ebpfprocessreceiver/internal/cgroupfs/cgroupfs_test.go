package cgroupfs

import (
	"os"
	"path/filepath"
	"testing"
)

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		`/sys/fs/cgroup`:         "/sys/fs/cgroup",
		`/mnt/with\040space`:     "/mnt/with space",
		`/a\134b`:                `/a\b`,
		`/trailing\04`:           `/trailing\04`, // too short to be an escape
		`/tab\011and\012newline`: "/tab\tand\nnewline",
		`/not\999octal`:          `/not\999octal`,
	} {
		if got := Unescape(in); got != want {
			t.Errorf("Unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

// A hybrid host: v1 controllers and a unified hierarchy; a namespaced
// mount of the memory controller is skipped.
func TestMountsFromMountinfo(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "proc/self/mountinfo"), `
30 25 0:26 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw
31 25 0:27 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
32 25 0:28 / /sys/fs/cgroup/memory\040host rw - cgroup cgroup rw,memory
33 25 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
`)
	unified, v1 := Mounts(root, "memory", "memory/memory.limit_in_bytes")
	if unified != filepath.Join(root, "sys/fs/cgroup/unified") || v1 != filepath.Join(root, "sys/fs/cgroup/memory host") {
		t.Errorf("memory: unified %q v1 %q", unified, v1)
	}
	if _, v1 := Mounts(root, "cpu", "cpu/cpu.cfs_quota_us"); v1 != filepath.Join(root, "sys/fs/cgroup/cpu,cpuacct") {
		t.Errorf("cpu: v1 %q", v1)
	}
	if _, v1 := Mounts(root, "pids", "pids/pids.max"); v1 != "" {
		t.Errorf("pids is not mounted, got %q", v1)
	}
}

// Without mountinfo: the usual layout decides.
func TestMountsFallBackToTheUsualLayout(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "sys/fs/cgroup/cgroup.controllers"), "cpu memory\n")
	if unified, v1 := Mounts(root, "memory", "memory/memory.limit_in_bytes"); unified != filepath.Join(root, "sys/fs/cgroup") || v1 != "" {
		t.Errorf("pure v2: unified %q v1 %q", unified, v1)
	}
	root = t.TempDir()
	write(t, filepath.Join(root, "sys/fs/cgroup/unified/cgroup.controllers"), "\n")
	write(t, filepath.Join(root, "sys/fs/cgroup/memory/memory.limit_in_bytes"), "max\n")
	if unified, v1 := Mounts(root, "memory", "memory/memory.limit_in_bytes"); unified != filepath.Join(root, "sys/fs/cgroup/unified") || v1 != filepath.Join(root, "sys/fs/cgroup/memory") {
		t.Errorf("hybrid: unified %q v1 %q", unified, v1)
	}
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
