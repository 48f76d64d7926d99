//go:build linux

package ebpfprocessreceiver

import (
	"bufio"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"golang.org/x/sys/unix"

	"github.com/linnix-os/otelcol-linnix/bpf"
	"github.com/linnix-os/otelcol-linnix/internal/contract"
	"github.com/linnix-os/otelcol-linnix/internal/redact"
	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver/internal/memlimit"
	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver/internal/procfilter"
	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver/internal/proctable"
)

// lifecycle turns kernel records into log records and keeps the process
// table in step with them. One goroutine owns it.
type lifecycle struct {
	table    *proctable.Table
	filter   *procfilter.Filter
	argsMode CommandArgsMode
	// redactor masks command lines under command_args: redact; nil means
	// the built-in rules only.
	redactor *redact.Redactor
	hostName string
	version  string
	// limits names the memory limit on exit records of OOM victims, so that
	// a rule can quote it without the metrics signal.
	limits *memlimit.Cgroups
	// metrics, when the receiver is in a metrics pipeline, is told of forks
	// and exits between two samples.
	metrics *collector
	// born converts creation times. Its offset is taken once, at start, so
	// that process.creation.time, part of a process's identity, is the same
	// string in every record and sample of that process.
	born wallClock
	// exited remembers recent exits: on kernels without group_dead two
	// threads may both report their group's exit.
	exited map[uint32]uint64
	// created caches process.creation.time strings: a process's fork, exec
	// and exit records, and a storm's many records, format the same times.
	created map[uint64]string
	// cgroups caches the attributes derived from a cgroup path.
	cgroups cgroupCache
	// body is reused to build each record's body.
	body []byte
}

// createdAt formats a process's creation time for process.creation.time.
func (c wallClock) createdAt(start uint64) string {
	return c.ts(start).AsTime().UTC().Format(time.RFC3339Nano)
}

// createdAt is born.createdAt, cached per start time.
func (l *lifecycle) createdAt(start uint64) string {
	if s, ok := l.created[start]; ok {
		return s
	}
	if len(l.created) >= maxCreated {
		clear(l.created)
	}
	s := l.born.createdAt(start)
	l.created[start] = s
	return s
}

const (
	// maxRecentExits bounds the exit de-duplication memory.
	maxRecentExits = 4096
	// maxCreated bounds the creation time cache.
	maxCreated = 8192
)

// collectArgs applies the command_args policy.
func (l *lifecycle) collectArgs(args []string) []string {
	switch l.argsMode {
	case CommandArgsOff:
		return nil
	case CommandArgsFull:
		return args
	}
	if l.redactor != nil {
		return l.redactor.Args(args)
	}
	return redact.Args(args)
}

// wallClock converts CLOCK_BOOTTIME readings to wall-clock time. The offset
// is read again for every batch so that clock steps (NTP, suspend) are
// followed.
type wallClock struct{ offset int64 }

// newWallClock reads the wall clock between two boot clock readings and
// keeps the tightest of a few tries: a thread preempted between the reads
// would otherwise skew the offset by as long as it waited, and place, say, a
// process's creation after its own fork record.
func newWallClock() wallClock {
	var best wallClock
	gap := int64(-1)
	for range 3 {
		var b1, rt, b2 unix.Timespec
		_ = unix.ClockGettime(unix.CLOCK_BOOTTIME, &b1)
		_ = unix.ClockGettime(unix.CLOCK_REALTIME, &rt)
		_ = unix.ClockGettime(unix.CLOCK_BOOTTIME, &b2)
		if g := b2.Nano() - b1.Nano(); gap < 0 || g < gap {
			gap, best = g, wallClock{offset: rt.Nano() - (b1.Nano()+b2.Nano())/2}
		}
	}
	return best
}

func (c wallClock) ts(boot uint64) pcommon.Timestamp {
	return pcommon.Timestamp(int64(boot) + c.offset)
}

// trackAll updates the process table (and the metrics collector) with a
// batch of events, for a receiver that is in no logs pipeline.
func (l *lifecycle) trackAll(events []bpf.Event) {
	for i := range events {
		_, _ = l.track(&events[i])
	}
}

// toLogs converts a batch of events into one plog.Logs; filtered-out events
// still update the process table. It returns the number of records made.
func (l *lifecycle) toLogs(events []bpf.Event, clock wallClock) (plog.Logs, int) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	res := rl.Resource().Attributes()
	res.PutStr(contract.HostName, l.hostName)
	res.PutStr(contract.OSType, "linux")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(contract.ScopeReceiver)
	sl.Scope().SetVersion(l.version)
	records := sl.LogRecords()
	records.EnsureCapacity(len(events))
	observed := pcommon.NewTimestampFromTime(time.Now())
	for i := range events {
		e := &events[i]
		info, keep := l.track(e)
		if !keep {
			continue
		}
		exeName := e.Comm
		if info.ExePath != "" {
			exeName = path.Base(info.ExePath)
		}
		if !l.filter.Keep(procfilter.Process{ExecutableName: exeName, UID: e.EUID, CgroupPath: e.CgroupPath}) {
			continue
		}
		lr := records.AppendEmpty()
		lr.SetTimestamp(clock.ts(e.Timestamp))
		lr.SetObservedTimestamp(observed)
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.SetSeverityText("INFO")
		l.fill(lr, e, info, exeName, clock)
	}
	return ld, records.Len()
}

// track updates the process table and returns what is known of the process,
// and false for a duplicate exit record, which is dropped.
func (l *lifecycle) track(e *bpf.Event) (proctable.Info, bool) {
	switch e.Type {
	case bpf.EventExec:
		info := proctable.Info{
			StartTime:     e.StartTime,
			ExePath:       exePath(e),
			Args:          l.collectArgs(e.Argv),
			ArgsTruncated: e.ArgvTruncated(),
			CgroupPath:    e.CgroupPath,
			CgroupLine:    l.cgroups.of(e).line,
		}
		l.table.Put(e.PID, info)
		return info, true
	case bpf.EventFork:
		if e.IsThread() {
			// A thread belongs to the process it joins, not to that
			// process's parent.
			info, _ := l.table.Lookup(e.PID)
			if p := exePath(e); p != "" {
				info.ExePath = p
			}
			return info, true
		}
		// A forked child runs its parent's image (which the kernel side
		// names) and arguments until it execs.
		info, _ := l.table.Lookup(e.PPID)
		if p := exePath(e); p != "" {
			info.ExePath = p
		}
		info.StartTime, info.Coarse = e.StartTime, false
		info.CgroupPath, info.CgroupLine = e.CgroupPath, l.cgroups.of(e).line
		l.table.Put(e.PID, info)
		if l.metrics != nil {
			l.metrics.noteFork()
		}
		return info, true
	default: // exit
		info, ok := l.table.Get(e.PID, e.StartTime)
		if e.IsThread() {
			return info, true
		}
		if start, seen := l.exited[e.PID]; seen && start == e.StartTime {
			return info, false
		}
		if len(l.exited) >= maxRecentExits {
			clear(l.exited)
		}
		l.exited[e.PID] = e.StartTime
		if ok {
			l.table.Remove(e.PID)
		}
		if l.metrics != nil {
			l.metrics.noteExit(e, info)
		}
		return info, true
	}
}

// exePath is the executable path a fork or exec record names; "" where the
// kernel side could not resolve it whole (deeper than its walk goes), so
// that a partial path never passes for a real one.
func exePath(e *bpf.Event) string {
	if e.Flags&bpf.FlagFilenameTruncated != 0 {
		return ""
	}
	return e.Filename
}

// workingDir is the working directory an exec record names; "" where the
// kernel side could not resolve it whole.
func workingDir(e *bpf.Event) string {
	if e.Flags&bpf.FlagCwdTruncated != 0 {
		return ""
	}
	return e.Cwd
}

func (l *lifecycle) fill(lr plog.LogRecord, e *bpf.Event, info proctable.Info, exeName string, clock wallClock) {
	cg := l.cgroups.of(e)
	attrs := lr.Attributes()
	attrs.EnsureCapacity(attrCount(e, info, cg.containerID))
	attrs.PutInt(contract.ProcessPID, int64(e.PID))
	attrs.PutInt(contract.ProcessParentPID, int64(e.PPID))
	attrs.PutStr(contract.ProcessExecutableName, exeName)
	if info.ExePath != "" {
		attrs.PutStr(contract.ProcessExecutablePath, info.ExePath)
	}
	if len(info.Args) > 0 {
		attrs.PutStr(contract.ProcessCommand, info.Args[0])
		s := attrs.PutEmptySlice(contract.ProcessCommandArgs)
		s.EnsureCapacity(len(info.Args))
		for _, a := range info.Args {
			s.AppendEmpty().SetStr(a)
		}
		if info.ArgsTruncated {
			attrs.PutBool(contract.CommandArgsTruncated, true)
		}
	}
	attrs.PutInt(contract.ProcessUserID, int64(e.EUID))
	attrs.PutInt(contract.ProcessRealUserID, int64(e.UID))
	attrs.PutInt(contract.ProcessGroupID, int64(e.EGID))
	attrs.PutInt(contract.ProcessRealGroupID, int64(e.GID))
	attrs.PutStr(contract.ProcessCreationTime, l.createdAt(e.StartTime))
	// The table's line was formatted from the same path at fork or exec.
	line := info.CgroupLine
	if line == "" || info.CgroupPath != e.CgroupPath {
		line = cg.line
	}
	attrs.PutStr(contract.ProcessLinuxCgroup, line)
	attrs.PutInt(contract.CgroupID, int64(e.CgroupID))
	if cg.containerID != "" {
		attrs.PutStr(contract.ContainerID, cg.containerID)
	}
	if e.IsThread() {
		attrs.PutInt(contract.ThreadID, int64(e.TID))
	}

	b := l.body[:0]
	switch e.Type {
	case bpf.EventFork:
		lr.SetEventName(contract.EventFork)
		b = append(b, "fork "...)
		b = append(b, exeName...)
		b = appendIDs(b, e)
	case bpf.EventExec:
		lr.SetEventName(contract.EventExec)
		if cwd := workingDir(e); cwd != "" {
			attrs.PutStr(contract.ProcessWorkingDirectory, cwd)
		}
		if e.Fileless() {
			attrs.PutBool(contract.ProcessFileless, true)
		}
		b = append(b, "exec "...)
		if info.ExePath != "" {
			b = append(b, info.ExePath...)
		} else {
			b = append(b, exeName...)
		}
		b = appendIDs(b, e)
	case bpf.EventExit:
		lr.SetEventName(contract.EventExit)
		code, sig, core := e.ExitCode()
		lifetime := time.Duration(e.Timestamp - e.StartTime)
		if e.Timestamp < e.StartTime {
			lifetime = 0
		}
		attrs.PutInt(contract.ProcessExitCode, int64(code))
		attrs.PutStr(contract.ProcessExitTime, clock.ts(e.Timestamp).AsTime().UTC().Format(time.RFC3339Nano))
		attrs.PutDouble(contract.ProcessLifetime, lifetime.Seconds())
		b = append(b, "exit "...)
		b = append(b, exeName...)
		b = append(b, " pid "...)
		b = strconv.AppendUint(b, uint64(e.PID), 10)
		if sig == 0 {
			b = append(b, " code "...)
			b = strconv.AppendInt(b, int64(code), 10)
		} else {
			attrs.PutInt(contract.ProcessExitSignal, int64(sig))
			b = append(b, " killed by "...)
			b = append(b, unix.SignalName(unix.Signal(sig))...)
			if core {
				attrs.PutBool(contract.ProcessExitCoreDumped, true)
				b = append(b, " (core dumped)"...)
			}
		}
		if e.OOMKilled() {
			b = l.putOOM(attrs, b, e, line)
		}
		b = append(b, " after "...)
		b = append(b, lifetime.Round(time.Millisecond).String()...)
	}
	lr.Body().SetStr(string(b))
	l.body = b
}

// attrCount is the number of attributes fill puts on e's record, or one
// more for an OOM kill whose cgroup has no memory limit: a record's map is
// allocated once at this size, since a map sized for the largest record
// wastes memory that the garbage collector scans on every record, and one
// grown by Put copies itself.
func attrCount(e *bpf.Event, info proctable.Info, containerID string) int {
	// pid, parent pid, executable name, the four user and group ids,
	// creation time, cgroup and cgroup id.
	n := 10
	if info.ExePath != "" {
		n++
	}
	if len(info.Args) > 0 {
		n += 2
		if info.ArgsTruncated {
			n++
		}
	}
	if containerID != "" {
		n++
	}
	if e.IsThread() {
		n++
	}
	switch e.Type {
	case bpf.EventExec:
		if workingDir(e) != "" {
			n++
		}
		if e.Fileless() {
			n++
		}
	case bpf.EventExit:
		n += 3 // exit code, exit time, lifetime
		if _, sig, core := e.ExitCode(); sig != 0 {
			n++
			if core {
				n++
			}
		}
		if e.OOMKilled() {
			n += 3 // killed, resident memory, the limit if any
		}
	}
	return n
}

// appendIDs appends " pid N ppid N uid N" to a body.
func appendIDs(b []byte, e *bpf.Event) []byte {
	b = append(b, " pid "...)
	b = strconv.AppendUint(b, uint64(e.PID), 10)
	b = append(b, " ppid "...)
	b = strconv.AppendUint(b, uint64(e.PPID), 10)
	b = append(b, " uid "...)
	return strconv.AppendUint(b, uint64(e.EUID), 10)
}

// putOOM marks the exit of an OOM killer's victim: its resident memory at
// the kill and, where the cgroup has one, the memory limit it ran against
// (read now: a limit is rarely changed between a kill and its exit).
func (l *lifecycle) putOOM(attrs pcommon.Map, b []byte, e *bpf.Event, cgroupLine string) []byte {
	attrs.PutBool(contract.OOMKilled, true)
	attrs.PutInt(contract.OOMRSS, int64(e.OOMRSS))
	b = append(b, " by the OOM killer at "...)
	b = appendMiB(b, e.OOMRSS)
	b = append(b, " resident"...)
	if l.limits == nil {
		return b
	}
	if limit, ok := l.limits.Limit(cgroupLine, int(e.PID)); ok {
		attrs.PutInt(contract.CgroupMemoryLimit, limit)
		b = append(b, " of a "...)
		b = appendMiB(b, uint64(limit))
		b = append(b, " limit"...)
	}
	return b
}

// appendMiB appends a byte count in MiB with one decimal.
func appendMiB(b []byte, n uint64) []byte {
	b = strconv.AppendFloat(b, float64(n)/(1<<20), 'f', 1, 64)
	return append(b, " MiB"...)
}

// cgroupLine formats the path like a line of /proc/PID/cgroup, as the
// process.linux.cgroup convention asks: "0::/path" on cgroup v2.
func cgroupLine(e *bpf.Event) string {
	if e.CgroupHierarchy == 0 {
		return "0::" + e.CgroupPath
	}
	return strconv.FormatUint(uint64(e.CgroupHierarchy), 10) + ":" + v1Controllers(e.CgroupHierarchy) + ":" + e.CgroupPath
}

// v1Controllers names the controllers of a cgroup v1 hierarchy, as this
// host mounts them (e.g. "memory" or "cpu,cpuacct").
func v1Controllers(hierarchy uint32) string {
	return v1Hierarchies()[hierarchy]
}

var v1Hierarchies = sync.OnceValue(func() map[uint32]string {
	m := map[uint32]string{}
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return m
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		id, rest, ok := strings.Cut(sc.Text(), ":")
		names, _, ok2 := strings.Cut(rest, ":")
		if n, err := strconv.ParseUint(id, 10, 32); ok && ok2 && err == nil {
			m[uint32(n)] = names
		}
	}
	return m
})
