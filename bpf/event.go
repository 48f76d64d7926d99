package bpf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// EventType is the lifecycle step a record describes.
type EventType uint32

// The values are enum event_type of process.bpf.c, as bpf2go emits them.
const (
	EventFork = EventType(processEventTypeEVENT_FORK)
	EventExec = EventType(processEventTypeEVENT_EXEC)
	EventExit = EventType(processEventTypeEVENT_EXIT)
)

func (t EventType) String() string {
	switch t {
	case EventFork:
		return "fork"
	case EventExec:
		return "exec"
	case EventExit:
		return "exit"
	}
	return fmt.Sprintf("unknown(%d)", uint32(t))
}

// Flags set by the kernel side on a record: enum event_flag of
// process.bpf.c, as bpf2go emits it.
const (
	FlagArgvTruncated     = uint32(processEventFlagFLAG_ARGV_TRUNCATED)
	FlagThread            = uint32(processEventFlagFLAG_THREAD)
	FlagFilenameTruncated = uint32(processEventFlagFLAG_FILENAME_TRUNCATED)
	FlagCgroupTruncated   = uint32(processEventFlagFLAG_CGROUP_TRUNCATED)
	FlagFileless          = uint32(processEventFlagFLAG_FILELESS)
	FlagCwdTruncated      = uint32(processEventFlagFLAG_CWD_TRUNCATED)
	FlagOOMKilled         = uint32(processEventFlagFLAG_OOM_KILLED)
)

// Layout of struct event_hdr in process.bpf.c. TestHeaderLayoutMatchesBTF
// compares these offsets with the compiled object's BTF, so a field added on
// one side cannot silently shift the other.
const (
	offTimestamp       = 0
	offStart           = 8
	offCgroupID        = 16
	offType            = 24
	offPID             = 28
	offTID             = 32
	offPPID            = 36
	offUID             = 40
	offEUID            = 44
	offGID             = 48
	offEGID            = 52
	offExitCode        = 56
	offFlags           = 60
	offCgroupHierarchy = 64
	offFilenameLen     = 68
	offCgroupLen       = 70
	offArgvLen         = 72
	offArgvTotalLen    = 76
	offComm            = 80
	commLen            = 16
	offCPURuntime      = 96
	offCPUUser         = 104
	offCPUSystem       = 112
	offOOMRSS          = 120
	offCwdLen          = 128
	offPad16           = 130
	offPad32           = 132
	// HeaderSize is the size of the fixed part of every record.
	HeaderSize = 136
)

// Event is one decoded lifecycle record. Times are CLOCK_BOOTTIME
// nanoseconds as the kernel reports them; strings are valid UTF-8.
type Event struct {
	Type EventType
	// Timestamp is when the kernel saw the event.
	Timestamp uint64
	// StartTime is when the thread group leader was created.
	StartTime uint64
	CgroupID  uint64
	PID       uint32 // thread group id
	TID       uint32
	PPID      uint32
	UID       uint32
	EUID      uint32
	GID       uint32
	EGID      uint32
	// ExitStatus is the wait(2) status of an exit record.
	ExitStatus uint32
	Flags      uint32
	// CgroupHierarchy is 0 for a cgroup v2 path, else the v1 hierarchy id.
	CgroupHierarchy uint32
	Comm            string
	// Filename is the absolute path of the process's executable on fork
	// and exec records, resolved by the kernel side from the file mapped
	// (the interpreter of a script); "memfd:NAME" for a memfd. With
	// FlagFilenameTruncated it holds the path's last components only.
	Filename string
	// Cwd is the working directory of an exec record.
	Cwd        string
	CgroupPath string
	Argv       []string
	// ArgvTotalLen is the size of the whole argument area, before the cap.
	ArgvTotalLen uint32
	// CPU time of the whole thread group in nanoseconds, on exit records:
	// total run time, and its user and system split as the kernel sampled it.
	CPURuntime, CPUUser, CPUSystem uint64
	// OOMRSS is the resident memory in bytes of an OOM killer's victim at
	// the kill, on its exit record (FlagOOMKilled).
	OOMRSS uint64
}

// ErrShortRecord reports a record smaller than its header says.
var ErrShortRecord = errors.New("short record")

// Decode parses one raw ring-buffer record into e. It never panics on
// malformed input: lengths that disagree with the record size are an error.
func Decode(raw []byte, e *Event) error {
	return decode(raw, e, validString, cgroupPath)
}

// Decoder decodes records as Decode does, and keeps one copy of the strings
// that repeat from record to record (command names, executables, working
// directories, cgroups) rather than allocating them again for every
// record: in a spawn storm most records repeat their neighbours'. It is not
// safe for concurrent use.
type Decoder struct {
	strs, cgroups map[string]string
}

// maxInterned bounds each of a Decoder's tables; a full table starts over.
const maxInterned = 4096

// Decode parses one raw record into e, like the function Decode.
func (d *Decoder) Decode(raw []byte, e *Event) error {
	if d.strs == nil {
		d.strs, d.cgroups = make(map[string]string), make(map[string]string)
	}
	return decode(raw, e, d.str, d.cgroup)
}

func (d *Decoder) str(b []byte) string { return intern(d.strs, b, validString) }

func (d *Decoder) cgroup(b []byte) string { return intern(d.cgroups, b, cgroupPath) }

// intern looks b up without allocating (the compiler turns a conversion in
// an index expression into a plain lookup) and converts it only when new.
func intern(m map[string]string, b []byte, conv func([]byte) string) string {
	if s, ok := m[string(b)]; ok {
		return s
	}
	if len(m) >= maxInterned {
		clear(m)
	}
	s := conv(b)
	m[string(b)] = s
	return s
}

func decode(raw []byte, e *Event, str, cgroup func([]byte) string) error {
	if len(raw) < HeaderSize {
		return fmt.Errorf("%w: %d bytes, header needs %d", ErrShortRecord, len(raw), HeaderSize)
	}
	le := binary.LittleEndian
	typ := EventType(le.Uint32(raw[offType:]))
	if typ < EventFork || typ > EventExit {
		return fmt.Errorf("unknown event type %d", uint32(typ))
	}
	fnLen := int(le.Uint16(raw[offFilenameLen:]))
	cwdLen := int(le.Uint16(raw[offCwdLen:]))
	cgLen := int(le.Uint16(raw[offCgroupLen:]))
	argvLen := int(le.Uint32(raw[offArgvLen:]))
	want := HeaderSize + fnLen + cwdLen + cgLen + argvLen
	if argvLen > len(raw) || want != len(raw) {
		return fmt.Errorf("%w: record has %d bytes, header describes %d", ErrShortRecord, len(raw), want)
	}

	*e = Event{
		Type:            typ,
		Timestamp:       le.Uint64(raw[offTimestamp:]),
		StartTime:       le.Uint64(raw[offStart:]),
		CgroupID:        le.Uint64(raw[offCgroupID:]),
		PID:             le.Uint32(raw[offPID:]),
		TID:             le.Uint32(raw[offTID:]),
		PPID:            le.Uint32(raw[offPPID:]),
		UID:             le.Uint32(raw[offUID:]),
		EUID:            le.Uint32(raw[offEUID:]),
		GID:             le.Uint32(raw[offGID:]),
		EGID:            le.Uint32(raw[offEGID:]),
		ExitStatus:      le.Uint32(raw[offExitCode:]),
		Flags:           le.Uint32(raw[offFlags:]),
		CgroupHierarchy: le.Uint32(raw[offCgroupHierarchy:]),
		ArgvTotalLen:    le.Uint32(raw[offArgvTotalLen:]),
		Comm:            str(cBytes(raw[offComm : offComm+commLen])),
		CPURuntime:      le.Uint64(raw[offCPURuntime:]),
		CPUUser:         le.Uint64(raw[offCPUUser:]),
		CPUSystem:       le.Uint64(raw[offCPUSystem:]),
		OOMRSS:          le.Uint64(raw[offOOMRSS:]),
	}
	data := raw[HeaderSize:]
	e.Filename = str(data[:fnLen])
	data = data[fnLen:]
	e.Cwd = str(data[:cwdLen])
	data = data[cwdLen:]
	e.CgroupPath = cgroup(data[:cgLen])
	e.Argv = splitArgv(data[cgLen:])
	return nil
}

// ArgvTruncated reports whether the argument list was cut at the size cap.
func (e *Event) ArgvTruncated() bool { return e.Flags&FlagArgvTruncated != 0 }

// Fileless reports whether the executable has no name in any directory: a
// memfd, or a file deleted after it was opened.
func (e *Event) Fileless() bool { return e.Flags&FlagFileless != 0 }

// OOMKilled reports whether an exit record is of a process the kernel's OOM
// killer chose.
func (e *Event) OOMKilled() bool { return e.Flags&FlagOOMKilled != 0 }

// IsThread reports whether the record is about a thread, not a process.
func (e *Event) IsThread() bool { return e.Flags&FlagThread != 0 }

// ExitCode splits an exit record's wait status: code is the value passed to
// exit(2), or 128+signal for a process killed by a signal, as shells and
// container runtimes report it.
func (e *Event) ExitCode() (code int, signal int, coreDumped bool) {
	sig := int(e.ExitStatus & 0x7f)
	if sig == 0 {
		return int(e.ExitStatus>>8) & 0xff, 0, false
	}
	return 128 + sig, sig, e.ExitStatus&0x80 != 0
}

// cBytes cuts a NUL-terminated field at its terminator.
func cBytes(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

func validString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// cgroupPath turns the kernel's leaf-first, NUL-terminated names into a path.
func cgroupPath(b []byte) string {
	if len(b) == 0 {
		return "/"
	}
	var names []string
	for len(b) > 0 {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			i = len(b)
		}
		names = append(names, validString(b[:i]))
		if i == len(b) {
			break
		}
		b = b[i+1:]
	}
	var sb strings.Builder
	for i := len(names) - 1; i >= 0; i-- {
		sb.WriteByte('/')
		sb.WriteString(names[i])
	}
	return sb.String()
}

// splitArgv splits the NUL-separated argument area; a final argument cut by
// the size cap has no terminator and is kept as it is.
func splitArgv(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	args := make([]string, 0, bytes.Count(b, []byte{0})+1)
	for len(b) > 0 {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			args = append(args, validString(b))
			break
		}
		args = append(args, validString(b[:i]))
		b = b[i+1:]
	}
	return args
}
