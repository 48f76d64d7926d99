// Package procstats sums the kernel's per-thread samples into per-process
// statistics.
package procstats

import (
	"github.com/linnix-os/otelcol-linnix/bpf"
)

// State is a process's scheduler state, as the process.state convention
// names it.
type State string

const (
	Running  State = "running"
	Sleeping State = "sleeping"
	Stopped  State = "stopped"
	Defunct  State = "defunct"
)

// Process is one thread group at one instant.
type Process struct {
	PID, PPID, EUID uint32
	// StartTime is the CLOCK_BOOTTIME creation time in nanoseconds.
	StartTime uint64
	// CPU time in nanoseconds: the precise total, and its user and system
	// shares (see Split).
	CPUTotal, CPUUser, CPUSystem uint64
	MinorFaults, MajorFaults     uint64
	Voluntary, Involuntary       uint64
	RSSBytes, VirtualBytes       uint64
	Threads                      int64
	State                        State
	Kernel                       bool
	Comm                         string
}

// Aggregator sums the kernel's per-thread samples into processes; it keeps
// its scratch space between collections.
type Aggregator struct {
	index map[uint32]int
	sums  []cpuSums
}

type cpuSums struct{ runtime, utime, stime uint64 }

// Aggregate sums tasks into processes, appending to dst. Threads of one
// group need not be adjacent. Thread-group totals of exited threads are
// added once, from the leader's sample.
func (a *Aggregator) Aggregate(tasks []bpf.TaskSample, pageSize uint64, dst []Process) []Process {
	if a.index == nil {
		a.index = make(map[uint32]int, len(tasks))
	}
	clear(a.index)
	index := a.index
	sums := a.sums[:0]
	defer func() { a.sums = sums }()
	base := len(dst)
	for i := range tasks {
		t := &tasks[i]
		j, ok := index[t.PID]
		if !ok {
			j = len(dst)
			index[t.PID] = j
			dst = append(dst, Process{PID: t.PID, State: Sleeping})
			sums = append(sums, cpuSums{})
		}
		p, s := &dst[j], &sums[j-base]
		p.add(s, t.RuntimeNs, t.UtimeNs, t.StimeNs, t.MinFlt, t.MajFlt, t.Nvcsw, t.Nivcsw)
		p.StartTime = t.StartNs
		if t.ExitState == 0 && t.State == bpf.TaskRunning {
			p.State = Running
		}
		if t.PID != t.TID {
			continue
		}
		// The leader also carries the totals of the group's exited threads.
		p.add(s, t.DeadRuntimeNs, t.DeadUtimeNs, t.DeadStimeNs, t.DeadMinFlt, t.DeadMajFlt, t.DeadNvcsw, t.DeadNivcsw)
		p.PPID, p.EUID = t.PPID, t.EUID
		p.RSSBytes = t.RssPages * pageSize
		p.VirtualBytes = t.VMPages * pageSize
		p.Threads = int64(t.NrThreads)
		p.Kernel = t.Flags&bpf.PFKthread != 0
		p.Comm = t.CommString()
		switch {
		case t.ExitState&bpf.ExitZombie != 0 && t.NrThreads == 0:
			p.State = Defunct
		case p.State != Running && t.State&(bpf.TaskStopped|bpf.TaskTraced) != 0:
			p.State = Stopped
		}
	}
	for j, s := range sums {
		p := &dst[base+j]
		p.CPUTotal = s.runtime
		p.CPUUser, p.CPUSystem = Split(s.runtime, s.utime, s.stime)
	}
	return dst
}

// Split divides the precise run time between user and system in the ratio
// of the kernel's tick-sampled utime and stime, as /proc/PID/stat does, so
// that user+system equals the run time.
func Split(runtime, utime, stime uint64) (user, system uint64) {
	if utime+stime == 0 {
		return runtime, 0
	}
	system = uint64(float64(runtime) * float64(stime) / float64(utime+stime))
	return runtime - system, system
}

// add counts one thread's (or the exited threads') CPU time, faults and
// context switches into the process.
func (p *Process) add(s *cpuSums, runtime, utime, stime, minFlt, majFlt, nvcsw, nivcsw uint64) {
	s.runtime += runtime
	s.utime += utime
	s.stime += stime
	p.MinorFaults += minFlt
	p.MajorFaults += majFlt
	p.Voluntary += nvcsw
	p.Involuntary += nivcsw
}
