// Package kerneltest holds what tests that load the BPF programs share: the
// privilege check, and a host-wide lock so that tests which spawn process
// storms, or expect a quiet host, never overlap (go test runs packages in
// parallel).
package kerneltest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/linnix-os/otelcol-linnix/bpf"
)

const lockPath = "/tmp/otelcol-linnix-kernel-tests.lock"

// Require skips only where loading BPF is truly impossible; CI runs as root
// on a BTF kernel and must never take this skip, so there it fails.
func Require(t testing.TB) {
	t.Helper()
	if _, err := bpf.CheckPrerequisites(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("kernel test cannot run in CI: %v", err)
		}
		t.Skipf("needs the privilege to load BPF: %v", err)
	}
}

// Exclusive holds the host-wide test lock until the test ends.
func Exclusive(t testing.TB) {
	t.Helper()
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatalf("opening %s: %v", lockPath, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		t.Fatalf("locking %s: %v", lockPath, err)
	}
	t.Cleanup(func() { f.Close() })
}

// Cgroup creates the cgroup directory dir for the test and removes it when
// the test ends, retrying for a while: a cgroup can be removed only once
// its processes are reaped.
func Cgroup(t testing.TB, dir string) {
	t.Helper()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatalf("creating cgroup %s: %v", dir, err)
	}
	t.Cleanup(func() {
		deadline := time.Now().Add(10 * time.Second)
		for {
			err := os.Remove(dir)
			if err == nil || errors.Is(err, os.ErrNotExist) {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("removing cgroup %s: %v", dir, err)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// ForkStorm forks as fast as the machine lets it for d, each child exiting
// at once, batch forks between reaps, and returns the finished storm (its
// pid is the children's parent) and how many forks it counted itself: the
// ground truth the tests compare the captured records with.
func ForkStorm(t testing.TB, d time.Duration, batch int) (*exec.Cmd, int) {
	t.Helper()
	storm := exec.Command("perl", "-e", fmt.Sprintf(`
use Time::HiRes qw(time);
my $n = 0; my $end = time + %f;
while (time < $end) {
  for (1..%d) { my $p = fork; if (defined $p) { exit 0 if $p == 0; $n++ } }
  1 while waitpid(-1, 1) > 0;
}
1 while wait != -1;
print "$n\n";`, d.Seconds(), batch))
	out, err := storm.CombinedOutput()
	if err != nil {
		t.Fatalf("fork storm: %v\n%s", err, out)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("fork storm printed %q", out)
	}
	return storm, n
}
