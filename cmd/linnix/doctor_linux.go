//go:build linux

package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"
)

// Capability numbers (linux/capability.h) the collector uses.
const (
	capSysAdmin = 21
	capPerfmon  = 38
	capBPF      = 39
)

var capNames = []struct {
	bit  uint
	name string
}{{capBPF, "cap_bpf"}, {capPerfmon, "cap_perfmon"}, {capSysAdmin, "cap_sys_admin"}}

// capSet is a set of capabilities as the kernel writes them, a bit each.
type capSet uint64

func (c capSet) has(bit uint) bool { return c&(1<<bit) != 0 }

// canLoadBPF: CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN which implies both.
func (c capSet) canLoadBPF() bool {
	return c.has(capSysAdmin) || (c.has(capBPF) && c.has(capPerfmon))
}

func (c capSet) String() string {
	var names []string
	for _, n := range capNames {
		if c.has(n.bit) {
			names = append(names, n.name)
		}
	}
	if len(names) == 0 {
		return "none of cap_bpf, cap_perfmon"
	}
	return strings.Join(names, ",")
}

func hostChecks() []check {
	eff, capErr := effectiveCaps()
	checks := []check{kernelCheck(), btfCheck(), cgroupCheck(), processCapsCheck(eff, capErr)}
	return append(checks, bpfChecks(capErr == nil && eff.canLoadBPF())...)
}

func kernelCheck() check {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return check{name: "kernel", status: statusFail, detail: err.Error()}
	}
	release := unix.ByteSliceToString(u.Release[:])
	major, minor, ok := kernelVersion(release)
	switch {
	case !ok:
		return check{name: "kernel", status: statusWarn, detail: "cannot read the version of " + release, fix: "the collector needs Linux 5.8 or newer"}
	case major < 5 || major == 5 && minor < 8:
		return check{name: "kernel", status: statusFail, detail: "Linux " + release + " is older than 5.8, which BPF ring buffers need",
			fix: "upgrade the kernel to 5.8 or newer (with CONFIG_DEBUG_INFO_BTF=y)"}
	}
	return check{name: "kernel", status: statusOK, detail: "Linux " + release}
}

// kernelVersion reads "6.18.0-1-amd64" as 6, 18.
func kernelVersion(release string) (major, minor int, ok bool) {
	parts := strings.SplitN(release, ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(parts[0])
	digits := strings.IndexFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' })
	if digits < 0 {
		digits = len(parts[1])
	}
	minor, err2 := strconv.Atoi(parts[1][:digits])
	return major, minor, err1 == nil && err2 == nil
}

func btfCheck() check {
	const path = "/sys/kernel/btf/vmlinux"
	if _, err := os.Stat(path); err != nil {
		return check{name: "BTF", status: statusFail, detail: path + " is missing: the kernel has no BTF",
			fix: "use a kernel built with CONFIG_DEBUG_INFO_BTF=y (most distributions ship one)"}
	}
	return check{name: "BTF", status: statusOK, detail: path}
}

// cgroupCheck says which cgroup hierarchy the host mounts; the receiver
// reads memory and CPU limits from either.
func cgroupCheck() check {
	mode, err := cgroupMode("/sys/fs/cgroup")
	if err != nil {
		return check{name: "cgroups", status: statusWarn, detail: err.Error(), fix: "container ids and cgroup limits may be missing from records"}
	}
	detail := map[string]string{
		"v2":     "v2 (unified): limits from memory.max and cpu.max",
		"hybrid": "hybrid: v1 controllers with a v2 hierarchy at /sys/fs/cgroup/unified; limits from memory.limit_in_bytes and cpu.cfs_quota_us",
		"v1":     "v1: limits from memory.limit_in_bytes and cpu.cfs_quota_us",
	}[mode]
	return check{name: "cgroups", status: statusOK, detail: detail}
}

// cgroupMode is v2 when root is a cgroup2 mount, hybrid when root holds v1
// hierarchies and a unified one, v1 otherwise.
func cgroupMode(root string) (string, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(root, &st); err != nil {
		return "", fmt.Errorf("cannot read %s: %w", root, err)
	}
	if st.Type == unix.CGROUP2_SUPER_MAGIC {
		return "v2", nil
	}
	if unix.Statfs(root+"/unified", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		return "hybrid", nil
	}
	return "v1", nil
}

// effectiveCaps reads this process's effective capabilities.
func effectiveCaps() (capSet, error) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return capSet(n), err
		}
	}
	return 0, errors.New("no CapEff in /proc/self/status")
}

func processCapsCheck(eff capSet, err error) check {
	if err != nil {
		return check{name: "this process", status: statusWarn, detail: "cannot read its capabilities: " + err.Error()}
	}
	if eff.canLoadBPF() {
		return check{name: "this process", status: statusOK, detail: fmt.Sprintf("uid %d with %s: can load BPF", os.Geteuid(), eff)}
	}
	return check{name: "this process", status: statusWarn, detail: fmt.Sprintf("uid %d with %s: cannot load BPF, so the BPF checks below are skipped", os.Geteuid(), eff),
		fix: "run the collector as root or give its binary file capabilities (next check); run `sudo linnix doctor` to probe BPF"}
}

// collectorCheck reads the file capabilities of the collector binary.
func collectorCheck(path string) check {
	if path == "" {
		path = defaultCollector()
	}
	if path == "" {
		return check{name: "collector binary", status: statusWarn, detail: "neither bin/otelcol-linnix nor otelcol-linnix on PATH",
			fix: "build it with `make build`, or name it with --collector PATH"}
	}
	if _, err := os.Stat(path); err != nil {
		return check{name: "collector binary", status: statusFail, detail: err.Error(), fix: "name the collector binary with --collector PATH"}
	}
	caps, effective, err := fileCaps(path)
	if err != nil {
		return check{name: "collector binary", status: statusWarn, detail: fmt.Sprintf("%s: cannot read its file capabilities: %v", path, err)}
	}
	fix := fmt.Sprintf("for unprivileged use: sudo setcap %s %s (again after every rebuild)", setcapCaps, path)
	switch {
	case caps == 0 && os.Geteuid() == 0:
		return check{name: "collector binary", status: statusOK, detail: path + " has no file capabilities: run it as root", fix: fix}
	case caps == 0:
		return check{name: "collector binary", status: statusWarn, detail: path + " has no file capabilities: only root can run it", fix: fix}
	case !caps.canLoadBPF() || !effective:
		e := ""
		if !effective {
			e = " without the effective flag"
		}
		return check{name: "collector binary", status: statusFail, detail: fmt.Sprintf("%s has %s%s: not enough to load BPF unprivileged", path, caps, e), fix: fix}
	}
	return check{name: "collector binary", status: statusOK, detail: fmt.Sprintf("%s has %s+ep: runs unprivileged", path, caps)}
}

// fileCaps decodes the security.capability attribute (struct
// vfs_cap_data, revisions 1 to 3): the permitted set and whether the
// effective flag is set. A file without the attribute has none.
func fileCaps(path string) (permitted capSet, effective bool, err error) {
	buf := make([]byte, 64)
	n, err := unix.Getxattr(path, "security.capability", buf)
	if errors.Is(err, unix.ENODATA) || errors.Is(err, unix.EOPNOTSUPP) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return parseVFSCaps(buf[:n])
}

func parseVFSCaps(b []byte) (capSet, bool, error) {
	const (
		revisionMask = 0xFF000000
		rev1         = 0x01000000
		rev2         = 0x02000000
		rev3         = 0x03000000
		flagEff      = 0x000001
	)
	if len(b) < 4 {
		return 0, false, fmt.Errorf("security.capability of %d bytes", len(b))
	}
	magic := binary.LittleEndian.Uint32(b)
	words := 0
	switch magic & revisionMask {
	case rev1:
		words = 1
	case rev2, rev3:
		words = 2
	default:
		return 0, false, fmt.Errorf("unknown security.capability revision %#x", magic&revisionMask)
	}
	if len(b) < 4+8*words {
		return 0, false, fmt.Errorf("security.capability of %d bytes is too short", len(b))
	}
	var set capSet
	for i := 0; i < words; i++ {
		permitted := binary.LittleEndian.Uint32(b[4+8*i:])
		set |= capSet(permitted) << (32 * i)
	}
	return set, magic&flagEff != 0, nil
}

// bpfChecks probes what the receiver loads: a ring buffer map, tp_btf
// programs on the scheduler's process tracepoints and a task iterator.
func bpfChecks(canLoad bool) []check {
	names := []string{"BPF ring buffer", "tp_btf programs", "task iterator"}
	if !canLoad {
		return []check{{name: "BPF features", status: statusWarn, detail: "ring buffer, tp_btf and task iterator support not probed: this process cannot load BPF",
			fix: "run `sudo linnix doctor`"}}
	}
	// Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK.
	if err := rlimit.RemoveMemlock(); err != nil {
		return []check{{name: "BPF", status: statusFail, detail: "raising RLIMIT_MEMLOCK: " + err.Error()}}
	}
	var out []check
	if err := features.HaveMapType(ebpf.RingBuf); err != nil {
		out = append(out, check{name: names[0], status: statusFail, detail: err.Error(), fix: "Linux 5.8 or newer is required"})
	} else {
		out = append(out, check{name: names[0], status: statusOK, detail: "supported"})
	}
	kernel, err := btf.LoadKernelSpec()
	if err != nil {
		return append(out,
			check{name: names[1], status: statusFail, detail: "no kernel BTF: " + err.Error()},
			check{name: names[2], status: statusFail, detail: "no kernel BTF: " + err.Error()})
	}
	if err := probeTracing(kernel, ebpf.AttachTraceRawTp, "sched_process_fork"); err != nil {
		out = append(out, check{name: names[1], status: statusFail, detail: err.Error(), fix: "the receiver needs BTF-enabled tracepoints (Linux 5.5+ with BTF)"})
	} else {
		out = append(out, check{name: names[1], status: statusOK, detail: "sched_process_fork loads and attaches"})
	}
	if err := probeTracing(kernel, ebpf.AttachTraceIter, "task"); err != nil {
		out = append(out, check{name: names[2], status: statusFail, detail: err.Error(), fix: "the receiver samples processes with a task iterator (Linux 5.8+)"})
	} else {
		out = append(out, check{name: names[2], status: statusOK, detail: "iter/task loads and attaches"})
	}
	return out
}

// probeTracing loads a program that does nothing, of the attach type the
// receiver uses, attaches it and detaches it at once.
func probeTracing(kernel *btf.Spec, at ebpf.AttachType, to string) error {
	prog, err := ebpf.NewProgramWithOptions(&ebpf.ProgramSpec{
		Type:         ebpf.Tracing,
		AttachType:   at,
		AttachTo:     to,
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
		License:      "GPL",
	}, ebpf.ProgramOptions{KernelTypes: kernel})
	if err != nil {
		return fmt.Errorf("loading: %w", err)
	}
	defer prog.Close()
	var l link.Link
	if at == ebpf.AttachTraceIter {
		l, err = link.AttachIter(link.IterOptions{Program: prog})
	} else {
		l, err = link.AttachTracing(link.TracingOptions{Program: prog})
	}
	if err != nil {
		return fmt.Errorf("attaching: %w", err)
	}
	return l.Close()
}
