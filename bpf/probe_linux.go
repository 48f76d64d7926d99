package bpf

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"
)

// Options tune the programs before they are loaded.
type Options struct {
	// RingBufferSize in bytes: a power of two and a multiple of the page size.
	RingBufferSize uint32
	// ArgvMaxBytes caps the argument bytes copied per exec (at most MaxArgvBytes).
	ArgvMaxBytes uint32
	// IncludeThreads emits fork and exit records for threads too.
	IncludeThreads bool
	// WakeupBytes batches wakeups: records are written without waking the
	// reader until the ring holds this many bytes, and the reader is
	// expected to poll on a timer (Wait with a deadline). 0 wakes the reader for
	// every record it has not yet caught up with.
	WakeupBytes uint32
	// WakeupInterval, with WakeupBytes, also wakes the reader for the
	// first record after this long without a wakeup. A reader that, this
	// long after a wakeup, finds the ring empty may then wait for the next
	// wakeup alone: every record it has not read will wake it.
	WakeupInterval time.Duration
}

// Probe owns the loaded programs, their attachments and the ring reader.
type Probe struct {
	objs  processObjects
	links []link.Link
	iter  *link.Iter
	// exeIter names every running process's executable (ReadExecutables).
	exeIter *link.Iter
	ring    *ring
	// wake is the ring's fd (a duplicate) in the Go runtime's poller, so
	// that Wait parks a goroutine rather than an OS thread in epoll_wait:
	// a thread blocked in a system call keeps the runtime's monitor
	// waking every 20 µs to take its processor back, which cost more CPU
	// than reading the records did.
	wake     *os.File
	wakeConn syscall.RawConn
	// taskBuf is reused by ReadTasks; one collection reads at a time.
	taskMu  sync.Mutex
	taskBuf bytes.Buffer
	exeMu   sync.Mutex
	// OOMMarks says whether OOM victims are marked on this kernel.
	OOMMarks bool
}

// Losses are the kernel-side drop counters.
type Losses struct {
	// RingFull counts records the ring buffer had no room for.
	RingFull uint64
	// Recursion counts program runs the kernel skipped because the program
	// was already running on that CPU.
	Recursion uint64
}

// Open checks the prerequisites, loads the programs and attaches them. Its
// errors say what is missing and how to grant it.
func Open(opts Options) (*Probe, error) {
	if opts.RingBufferSize == 0 {
		opts.RingBufferSize = DefaultRingBuffer
	}
	if opts.ArgvMaxBytes == 0 {
		opts.ArgvMaxBytes = DefaultArgvBytes
	}
	if opts.WakeupBytes >= opts.RingBufferSize {
		return nil, fmt.Errorf("wakeup threshold %d must be below the ring buffer size %d", opts.WakeupBytes, opts.RingBufferSize)
	}
	if opts.ArgvMaxBytes > MaxArgvBytes {
		return nil, fmt.Errorf("argv cap %d exceeds the kernel-side maximum %d", opts.ArgvMaxBytes, MaxArgvBytes)
	}
	kernel, err := CheckPrerequisites()
	if err != nil {
		return nil, err
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("raising RLIMIT_MEMLOCK for BPF maps: %w", err)
	}

	spec, err := loadProcess()
	if err != nil {
		return nil, fmt.Errorf("parsing embedded BPF object: %w", err)
	}
	spec.Maps["events"].MaxEntries = opts.RingBufferSize
	consts := map[string]any{
		"argv_max":            opts.ArgvMaxBytes,
		"include_threads":     opts.IncludeThreads,
		"exit_has_group_dead": exitHasGroupDead(kernel),
		"v1_subsys_id":        v1SubsysID(kernel),
		"wakeup_bytes":        uint64(opts.WakeupBytes),
		"wakeup_ns":           uint64(opts.WakeupInterval.Nanoseconds()),
		"page_size":           uint32(os.Getpagesize()),
	}
	for name, v := range consts {
		if err := spec.Variables[name].Set(v); err != nil {
			return nil, fmt.Errorf("setting %s: %w", name, err)
		}
	}

	p := &Probe{}
	if err := spec.LoadAndAssign(&p.objs, &ebpf.CollectionOptions{Programs: ebpf.ProgramOptions{KernelTypes: kernel}}); err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("kernel verifier rejected the process programs: %+v", ve)
		}
		return nil, fmt.Errorf("loading process programs: %w", err)
	}
	for _, prog := range []*ebpf.Program{p.objs.HandleFork, p.objs.HandleExec, p.objs.HandleExit} {
		l, err := link.AttachTracing(link.TracingOptions{Program: prog})
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("attaching %s: %w", prog, err)
		}
		p.links = append(p.links, l)
	}
	if markVictimTakesTask(kernel) {
		l, err := link.AttachTracing(link.TracingOptions{Program: p.objs.HandleOom})
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("attaching %s: %w", p.objs.HandleOom, err)
		}
		p.links = append(p.links, l)
		p.OOMMarks = true
	}
	if p.iter, err = link.AttachIter(link.IterOptions{Program: p.objs.DumpTask}); err != nil {
		p.Close()
		return nil, fmt.Errorf("attaching the task iterator: %w", err)
	}
	if p.exeIter, err = link.AttachIter(link.IterOptions{Program: p.objs.DumpExe}); err != nil {
		p.Close()
		return nil, fmt.Errorf("attaching the executables iterator: %w", err)
	}
	if p.ring, err = openRing(p.objs.Events); err != nil {
		p.Close()
		return nil, err
	}
	if err := p.openWake(); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func (p *Probe) openWake() error {
	fd, err := unix.FcntlInt(uintptr(p.objs.Events.FD()), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("duplicating the ring buffer fd: %w", err)
	}
	// O_NONBLOCK lets os.NewFile register the fd with the runtime's
	// poller; the ring is only ever mapped and polled, never read(2).
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return fmt.Errorf("setting the ring buffer fd non-blocking: %w", err)
	}
	p.wake = os.NewFile(uintptr(fd), "ringbuf")
	if p.wakeConn, err = p.wake.SyscallConn(); err != nil {
		return fmt.Errorf("polling the ring buffer: %w", err)
	}
	return nil
}

// ReadRaw returns the next record's bytes, valid until the next call, or
// os.ErrDeadlineExceeded at once when the ring is empty. It returns an
// error wrapping os.ErrClosed after Close. It is not safe for concurrent
// use.
func (p *Probe) ReadRaw() ([]byte, error) { return p.ring.read() }

// Wait returns when the ring holds records the kernel woke the reader for,
// with os.ErrDeadlineExceeded at the deadline (the zero time waits for a
// wakeup alone), or with an error wrapping os.ErrClosed after Close.
// Records written without a wakeup are only seen at the deadline, or when
// a later record wakes the reader.
func (p *Probe) Wait(deadline time.Time) error {
	if err := p.wake.SetReadDeadline(deadline); err != nil {
		return fmt.Errorf("ring buffer: %w", os.ErrClosed)
	}
	// The poller is edge-triggered: a wakeup while the ring was being
	// read leaves a stale readiness that ends the wait at once, so
	// readiness counts only with bytes in the ring. Close closes wake
	// before it unmaps the ring, and closing a pollable file waits for this
	// callback to return, so the ring is still mapped here.
	err := p.wakeConn.Read(func(uintptr) bool { return p.ring.available() > 0 })
	switch {
	case err == nil, errors.Is(err, os.ErrDeadlineExceeded):
		return err
	default:
		return fmt.Errorf("ring buffer: %w (%v)", os.ErrClosed, err)
	}
}

// ReadTasks runs the task iterator once and returns a sample of every task
// on the host, reusing dst's capacity.
func (p *Probe) ReadTasks(dst []TaskSample) ([]TaskSample, error) {
	p.taskMu.Lock()
	defer p.taskMu.Unlock()
	if err := runIter(p.iter, "task iterator", &p.taskBuf); err != nil {
		return dst, err
	}
	return DecodeTasks(p.taskBuf.Bytes(), dst)
}

// ReadExecutables runs the executables iterator once and returns, by pid,
// the executable of every process running now, kernel threads aside.
func (p *Probe) ReadExecutables() (map[uint32]Executable, error) {
	// One run at a time: the iterator's buffers are shared, not per CPU.
	p.exeMu.Lock()
	defer p.exeMu.Unlock()
	var buf bytes.Buffer
	if err := runIter(p.exeIter, "executables iterator", &buf); err != nil {
		return nil, err
	}
	return DecodeExecutables(buf.Bytes())
}

// runIter runs an iterator once, its whole output into buf.
func runIter(it *link.Iter, name string, buf *bytes.Buffer) error {
	rd, err := it.Open()
	if err != nil {
		return fmt.Errorf("opening the %s: %w", name, err)
	}
	defer rd.Close()
	buf.Reset()
	if _, err := buf.ReadFrom(rd); err != nil {
		return fmt.Errorf("reading the %s: %w", name, err)
	}
	return nil
}

// Losses sums the per-CPU drop counters.
func (p *Probe) Losses() (Losses, error) {
	var l Losses
	var perCPU []uint64
	for key := uint32(EventFork); key <= uint32(EventExit); key++ {
		if err := p.objs.Lost.Lookup(key, &perCPU); err != nil {
			return l, fmt.Errorf("reading lost counters: %w", err)
		}
		for _, v := range perCPU {
			l.RingFull += v
		}
	}
	for _, prog := range []*ebpf.Program{p.objs.HandleFork, p.objs.HandleExec, p.objs.HandleExit} {
		st, err := prog.Stats()
		if err != nil {
			return l, fmt.Errorf("reading program stats: %w", err)
		}
		l.Recursion += st.RecursionMisses
	}
	return l, nil
}

// Close detaches the programs and releases every kernel object. It
// interrupts a pending Wait.
func (p *Probe) Close() error {
	var errs []error
	if p.wake != nil {
		errs = append(errs, p.wake.Close())
	}
	if p.ring != nil {
		errs = append(errs, p.ring.close())
	}
	for _, l := range p.links {
		errs = append(errs, l.Close())
	}
	if p.iter != nil {
		errs = append(errs, p.iter.Close())
	}
	if p.exeIter != nil {
		errs = append(errs, p.exeIter.Close())
	}
	errs = append(errs, p.objs.Close())
	return errors.Join(errs...)
}

// CheckPrerequisites reports, in words an operator can act on, what keeps the
// programs from loading: missing capabilities, no kernel BTF, or a kernel
// without BPF ring buffers. It returns the kernel's BTF on success.
func CheckPrerequisites() (*btf.Spec, error) {
	if missing := missingCapabilities(); len(missing) > 0 {
		exe, err := os.Executable()
		if err != nil {
			exe = "/path/to/otelcol-linnix"
		}
		return nil, fmt.Errorf("missing %s: run as root, or grant the capabilities with `sudo setcap cap_bpf,cap_perfmon+ep %s`",
			strings.Join(missing, " and "), exe)
	}
	kernel, err := btf.LoadKernelSpec()
	if err != nil {
		return nil, fmt.Errorf("kernel BTF is not available (%v): the kernel needs CONFIG_DEBUG_INFO_BTF=y, which exposes /sys/kernel/btf/vmlinux (Linux 5.8+ with BTF, as most distributions ship)", err)
	}
	if err := features.HaveMapType(ebpf.RingBuf); err != nil {
		return nil, fmt.Errorf("this kernel has no BPF ring buffer (%v): Linux 5.8 or newer is required", err)
	}
	return kernel, nil
}

func missingCapabilities() []string {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return []string{"CAP_BPF", "CAP_PERFMON"}
	}
	has := func(c uint) bool { return data[c/32].Effective&(1<<(c%32)) != 0 }
	var missing []string
	for _, c := range []struct {
		bit  uint
		name string
	}{{unix.CAP_BPF, "CAP_BPF"}, {unix.CAP_PERFMON, "CAP_PERFMON"}} {
		if !has(c.bit) && !has(unix.CAP_SYS_ADMIN) {
			missing = append(missing, c.name)
		}
	}
	return missing
}

// exitHasGroupDead reports whether sched_process_exit carries the group_dead
// argument (Linux 6.16+); older kernels read signal->live instead.
func exitHasGroupDead(kernel *btf.Spec) bool {
	var td *btf.Typedef
	if err := kernel.TypeByName("btf_trace_sched_process_exit", &td); err != nil {
		return false
	}
	ptr, ok := td.Type.(*btf.Pointer)
	if !ok {
		return false
	}
	proto, ok := ptr.Target.(*btf.FuncProto)
	return ok && len(proto.Params) == 3
}

// markVictimTakesTask reports whether the mark_victim tracepoint passes the
// victim's task_struct, which handle_oom reads; older kernels pass only a
// pid, and OOM victims are then not marked.
func markVictimTakesTask(kernel *btf.Spec) bool {
	var td *btf.Typedef
	if err := kernel.TypeByName("btf_trace_mark_victim", &td); err != nil {
		return false
	}
	ptr, ok := td.Type.(*btf.Pointer)
	if !ok {
		return false
	}
	proto, ok := ptr.Target.(*btf.FuncProto)
	if !ok || len(proto.Params) < 2 {
		return false
	}
	// Params[0] is the tracepoint's context; the first argument follows.
	arg, ok := btf.UnderlyingType(proto.Params[1].Type).(*btf.Pointer)
	if !ok {
		return false
	}
	st, ok := arg.Target.(*btf.Struct)
	return ok && st.Name == "task_struct"
}

// v1SubsysID picks the cgroup v1 controller whose path names a process's
// container on hosts where cgroup v2 is mounted but unused (hybrid mode). On
// a pure v2 host it returns 0 and only the v2 path is read.
func v1SubsysID(kernel *btf.Spec) uint32 {
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		return 0
	}
	var ids *btf.Enum
	if err := kernel.TypeByName("cgroup_subsys_id", &ids); err != nil {
		return 0
	}
	for _, want := range []string{"memory_cgrp_id", "pids_cgrp_id", "cpu_cgrp_id"} {
		for _, v := range ids.Values {
			if v.Name == want {
				return uint32(v.Value)
			}
		}
	}
	return 0
}
