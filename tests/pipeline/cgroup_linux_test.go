package pipeline

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/linnix-os/otelcol-linnix/internal/kerneltest"
)

// testCgroup makes a cgroup for the test with the given control files
// written: on the v2 hierarchy when its root has controller, else on the
// v1 hierarchy of controller (this host is hybrid: memory and cpu are v1).
// It returns the cgroup's directories (one per hierarchy a member must
// join); they are removed when the test ends, once their processes are
// gone. A missing controller fails the test: the rules it serves need it.
func testCgroup(t *testing.T, controller string, v2, v1 [][2]string) []string {
	t.Helper()
	name := "linnix-pipeline-" + controller + "-" + strconv.Itoa(os.Getpid())
	var dirs []string
	mkdir := func(dir string) {
		kerneltest.Cgroup(t, dir)
		dirs = append(dirs, dir)
	}
	write := func(dir string, files [][2]string) {
		for _, f := range files {
			require.NoError(t, os.WriteFile(filepath.Join(dir, f[0]), []byte(f[1]), 0o644), "%s/%s", dir, f[0])
		}
	}
	if ctl, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		require.Contains(t, " "+strings.TrimSpace(string(ctl))+" ", " "+controller+" ", "cgroup v2 without the %s controller", controller)
		dir := filepath.Join("/sys/fs/cgroup", name)
		mkdir(dir)
		write(dir, v2)
		return dirs
	}
	root := filepath.Join("/sys/fs/cgroup", controller)
	_, err := os.Stat(filepath.Join(root, "cgroup.procs"))
	require.NoError(t, err, "no cgroup %s controller at /sys/fs/cgroup", controller)
	dir := filepath.Join(root, name)
	mkdir(dir)
	write(dir, v1)
	return dirs
}

// startInCgroup starts the test binary as a child in mode, inside dirs,
// at the given nice value: a shell joins them and then execs the child, so
// that everything the child does happens under the cgroup's limits.
func startInCgroup(t *testing.T, mode string, dirs []string, nice int) *exec.Cmd {
	t.Helper()
	var join strings.Builder
	for _, d := range dirs {
		join.WriteString("echo $$ > " + filepath.Join(d, "cgroup.procs") + " && ")
	}
	cmd := exec.Command("/bin/sh", "-c", join.String()+`exec nice -n `+strconv.Itoa(nice)+` "$0" -test.run='^TestHelperProcess$'`, os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"="+mode)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}
