package memsource

import (
	"os"
	"path/filepath"
	"testing"
)

func write(t *testing.T, root, path, data string) {
	t.Helper()
	p := filepath.Join(root, path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCgroupLimits(t *testing.T) {
	v2 := t.TempDir()
	write(t, v2, "sys/fs/cgroup/cgroup.controllers", "memory pids")
	write(t, v2, "sys/fs/cgroup/kubepods/pod1/memory.max", "536870912\n")
	write(t, v2, "sys/fs/cgroup/user.slice/memory.max", "max\n")
	s := &System{Root: v2}
	if v, ok := s.CgroupLimit("0::/kubepods/pod1"); !ok || v != 512<<20 {
		t.Errorf("v2 limit = %v, %v", v, ok)
	}
	if _, ok := s.CgroupLimit("0::/user.slice"); ok {
		t.Error("max must mean no limit")
	}
	if _, ok := s.CgroupLimit("0::/missing"); ok {
		t.Error("missing cgroup has no limit")
	}

	v1 := t.TempDir()
	write(t, v1, "sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes", "1073741824\n")
	write(t, v1, "sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n")
	s = &System{Root: v1}
	if v, ok := s.CgroupLimit("4:memory:/docker/abc"); !ok || v != 1<<30 {
		t.Errorf("v1 limit = %v, %v", v, ok)
	}
	if _, ok := s.CgroupLimit("4:memory:/"); ok {
		t.Error("v1 unlimited must mean no limit")
	}
	if _, ok := s.CgroupLimit("3:cpu:/x"); ok {
		t.Error("a non-memory v1 line has no memory limit")
	}
}

func TestHost(t *testing.T) {
	root := t.TempDir()
	write(t, root, "proc/meminfo", "MemTotal:       16000000 kB\nMemFree:  1 kB\nMemAvailable:    8000000 kB\n")
	total, avail, ok := (&System{Root: root}).Host()
	if !ok || total != 16000000*1024 || avail != 8000000*1024 {
		t.Errorf("Host() = %v %v %v", total, avail, ok)
	}
	if _, _, ok := (&System{Root: "/"}).Host(); !ok {
		t.Error("this host's /proc/meminfo not read")
	}
}
