package bpf

import (
	"bytes"
	"fmt"
	"unsafe"
)

// TaskSample is one task (thread) as the task iterator saw it. Group totals
// of exited threads (Dead*), memory and thread count are set on the thread
// group leader only (PID == TID).
type TaskSample struct {
	StartNs       uint64 // leader start, CLOCK_BOOTTIME
	RuntimeNs     uint64
	UtimeNs       uint64
	StimeNs       uint64
	MinFlt        uint64
	MajFlt        uint64
	Nvcsw         uint64
	Nivcsw        uint64
	DeadRuntimeNs uint64
	DeadUtimeNs   uint64
	DeadStimeNs   uint64
	DeadMinFlt    uint64
	DeadMajFlt    uint64
	DeadNvcsw     uint64
	DeadNivcsw    uint64
	RssPages      uint64
	VMPages       uint64
	PID           uint32
	TID           uint32
	PPID          uint32
	EUID          uint32
	State         uint32 // task __state
	ExitState     uint32
	Flags         uint32 // PF_* task flags
	NrThreads     uint32
	Comm          [16]byte
}

// TaskSampleSize is the size of one iterator record; TestTaskSampleMatchesBTF
// checks it against struct task_sample.
const TaskSampleSize = int(unsafe.Sizeof(TaskSample{}))

// Task flags and states the metrics path interprets. PFKthread is enum
// task_flag of process.bpf.c, which the iterator tests too; the states are
// the kernel's, which only user space reads.
const (
	PFKthread   = uint32(processTaskFlagPF_KTHREAD)
	ExitZombie  = 0x10
	TaskRunning = 0x0
	TaskStopped = 0x4
	TaskTraced  = 0x8
)

// CommString is the task's comm up to its NUL.
func (s *TaskSample) CommString() string {
	c := s.Comm[:]
	if i := bytes.IndexByte(c, 0); i >= 0 {
		c = c[:i]
	}
	return validString(c)
}

// DecodeTasks parses the iterator output into dst, reusing its capacity.
func DecodeTasks(raw []byte, dst []TaskSample) ([]TaskSample, error) {
	if len(raw)%TaskSampleSize != 0 {
		return dst, fmt.Errorf("task iterator returned %d bytes, not a multiple of %d", len(raw), TaskSampleSize)
	}
	n := len(raw) / TaskSampleSize
	dst = dst[:0]
	if cap(dst) < n {
		dst = make([]TaskSample, 0, n+n/4)
	}
	dst = dst[:n]
	// The record is the C struct's bytes in host order; TaskSample mirrors
	// it field for field, so a copy is the whole decode.
	copy(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(dst))), n*TaskSampleSize), raw)
	return dst, nil
}
