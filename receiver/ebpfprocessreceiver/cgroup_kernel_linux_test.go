package ebpfprocessreceiver

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/linnix-os/otelcol-linnix/internal/contract"

	"github.com/linnix-os/otelcol-linnix/internal/kerneltest"
)

// skipOrFail skips where the host lacks what the test needs, except in CI,
// which must run every test.
func skipOrFail(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(why)
	}
	t.Skip(why)
}

// memoryCgroup creates a cgroup with a memory limit for the test: on the
// cgroup v2 hierarchy when it has the memory controller (a pure v2 host),
// else on the v1 memory hierarchy (hybrid and v1 hosts). It returns the
// cgroup's cgroup.procs file; the cgroup is removed when the test ends.
func memoryCgroup(t *testing.T, limit int64) string {
	t.Helper()
	name := "linnix-test-" + strconv.Itoa(os.Getpid())
	var dir, limitFile string
	if ctl, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		if !strings.Contains(" "+strings.TrimSpace(string(ctl))+" ", " memory ") {
			skipOrFail(t, "cgroup v2 without the memory controller")
		}
		dir, limitFile = filepath.Join("/sys/fs/cgroup", name), "memory.max"
	} else if _, err := os.Stat("/sys/fs/cgroup/memory/memory.limit_in_bytes"); err == nil {
		dir, limitFile = filepath.Join("/sys/fs/cgroup/memory", name), "memory.limit_in_bytes"
	} else {
		skipOrFail(t, "no cgroup memory controller at /sys/fs/cgroup")
	}
	kerneltest.Cgroup(t, dir)
	require.NoError(t, os.WriteFile(filepath.Join(dir, limitFile), []byte(strconv.FormatInt(limit, 10)), 0o644))
	return filepath.Join(dir, "cgroup.procs")
}

// TestCgroupMemoryLimitOfAChild runs a child in a cgroup limited to 96 MiB
// and requires the limit on its resource, as linnix.cgroup.memory.limit.
// The child joins the cgroup before its exec, as container runtimes do, so
// the exec record names that cgroup.
func TestCgroupMemoryLimitOfAChild(t *testing.T) {
	const limit = 96 << 20
	r := startMetrics(t)
	procs := memoryCgroup(t, limit)
	// sh moves itself into the cgroup, then becomes the test binary.
	child := exec.Command("/bin/sh", "-c", `echo $$ > "$0" && exec "$@"`, procs, os.Args[0], "-test.run=^TestHelperProcess$")
	child.Env = append(os.Environ(), childEnv+"=sleep")
	child.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(t, child.Start())
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	pid := child.Process.Pid

	// The exec record reaches the process table through the lifecycle path;
	// until then the child may show the shell's cgroup or none.
	var res map[string]any
	want := filepath.Base(filepath.Dir(procs))
	require.Eventually(t, func() bool {
		md, err := r.coll.collect()
		if err != nil {
			return false
		}
		res = resourceOf(md, pid)
		line, _ := res[contract.ProcessLinuxCgroup].(string)
		return strings.HasSuffix(line, "/"+want) && res[contract.ProcessExecutableName] != "sh"
	}, 10*time.Second, 50*time.Millisecond, "the child's metrics name its cgroup")
	cgroupFile, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	require.NoError(t, err)
	t.Logf("resource cgroup %q, limit %v; /proc/%d/cgroup:\n%s", res[contract.ProcessLinuxCgroup], res[contract.CgroupMemoryLimit], pid, cgroupFile)
	assert.Contains(t, strings.Split(string(cgroupFile), "\n"), res[contract.ProcessLinuxCgroup])
	assert.Equal(t, int64(limit), res[contract.CgroupMemoryLimit])
}

// resourceOf returns the resource attributes of pid's metrics, nil when
// they are not there.
func resourceOf(md pmetric.Metrics, pid int) map[string]any {
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		attrs := md.ResourceMetrics().At(i).Resource().Attributes()
		if v, ok := attrs.Get(contract.ProcessPID); ok && v.Int() == int64(pid) {
			return attrs.AsRaw()
		}
	}
	return nil
}
