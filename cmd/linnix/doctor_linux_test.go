//go:build linux

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestKernelVersionReadsReleaseStrings(t *testing.T) {
	for release, want := range map[string][2]int{
		"6.18.44-fc-v782": {6, 18}, "5.8.0": {5, 8}, "5.15.0-91-generic": {5, 15}, "4.19.0+": {4, 19}, "6.1-rc1": {6, 1},
	} {
		major, minor, ok := kernelVersion(release)
		if !ok || major != want[0] || minor != want[1] {
			t.Errorf("%s: %d.%d %v", release, major, minor, ok)
		}
	}
	if _, _, ok := kernelVersion("garbage"); ok {
		t.Error("garbage parsed")
	}
	release, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		t.Fatal(err)
	}
	if c := kernelCheck(); !strings.Contains(c.detail, strings.TrimSpace(string(release))) {
		t.Errorf("kernel check %q does not name this kernel %q", c.detail, release)
	}
}

func TestCgroupModeAgreesWithTheMountTable(t *testing.T) {
	mounts, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		t.Fatal(err)
	}
	fsAt := map[string]string{}
	for _, l := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(l); len(f) >= 3 {
			fsAt[f[1]] = f[2]
		}
	}
	want := "v1"
	switch {
	case fsAt["/sys/fs/cgroup"] == "cgroup2":
		want = "v2"
	case fsAt["/sys/fs/cgroup/unified"] == "cgroup2":
		want = "hybrid"
	}
	got, err := cgroupMode("/sys/fs/cgroup")
	if err != nil || got != want {
		t.Errorf("cgroupMode = %q, %v; the mount table says %q", got, err, want)
	}
}

// The file capabilities doctor reads are the ones setcap wrote.
func TestFileCapsReadWhatSetcapWrote(t *testing.T) {
	requireRoot(t)
	setcap := lookTool(t, "setcap")
	bin := filepath.Join(t.TempDir(), "otelcol-linnix")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	c := collectorCheck(bin)
	if c.status != statusOK || !strings.Contains(c.detail, "no file capabilities: run it as root") || !strings.Contains(c.fix, "sudo setcap "+setcapCaps+" "+bin) {
		t.Errorf("a binary without capabilities, as root: %+v", c)
	}
	for _, tc := range []struct {
		caps   string
		status status
		detail string
	}{
		{setcapCaps, statusOK, "cap_bpf,cap_perfmon+ep: runs unprivileged"},
		{"cap_sys_admin+ep", statusOK, "cap_sys_admin+ep: runs unprivileged"},
		{"cap_bpf,cap_perfmon+p", statusFail, "without the effective flag"},
		{"cap_bpf+ep", statusFail, "not enough to load BPF"},
	} {
		if out, err := exec.Command(setcap, tc.caps, bin).CombinedOutput(); err != nil {
			t.Fatalf("setcap %s: %v: %s", tc.caps, err, out)
		}
		c := collectorCheck(bin)
		if c.status != tc.status || !strings.Contains(c.detail, tc.detail) {
			t.Errorf("setcap %s: %+v", tc.caps, c)
		}
		// Enough to load BPF is all the collector needs: no caveat follows.
		if c.status == statusOK && !strings.HasSuffix(c.detail, ": runs unprivileged") {
			t.Errorf("setcap %s: %q qualifies a set that suffices", tc.caps, c.detail)
		}
	}
}

func TestParseVFSCapsRejectsMalformedAttributes(t *testing.T) {
	for _, b := range [][]byte{nil, {1, 0, 0}, {0, 0, 0, 0x09, 0, 0, 0, 0}, {1, 0, 0, 0x02, 0xff, 0, 0, 0}} {
		if _, _, err := parseVFSCaps(b); err == nil {
			t.Errorf("%x parsed", b)
		}
	}
}

// As root on a kernel with BTF, every kernel check passes; each one is
// backed by loading real programs.
func TestHostChecksPassAsRoot(t *testing.T) {
	requireRoot(t)
	for _, c := range hostChecks() {
		if c.status == statusFail {
			t.Errorf("%s: %s (%s)", c.name, c.detail, c.fix)
		}
		if c.name == "BPF features" {
			t.Errorf("%s not probed as root: %s", c.name, c.detail)
		}
	}
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("this test must run as root in CI")
		}
		t.Skip("needs root")
	}
}

func lookTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed: %v", name, err)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}
