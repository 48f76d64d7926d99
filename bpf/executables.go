package bpf

import (
	"encoding/binary"
	"fmt"
	"unsafe"
)

// Executable is a running process's executable as the executables iterator
// resolved it in the kernel, by the same walk as the exec records' Filename.
type Executable struct {
	// StartTime is the process's start, CLOCK_BOOTTIME nanoseconds: with
	// the pid, it tells a process from a later one that reused the pid.
	StartTime uint64
	// Path is absolute ("memfd:NAME" for a memfd); with Truncated it holds
	// the path's last components only. It is "" for a process listed
	// without an executable: a zombie, or one whose leader thread exited.
	Path string
	// Fileless: the file has no name in any directory (FlagFileless).
	Fileless, Truncated bool
}

// exeSampleHeader mirrors struct exe_sample; TestExeSampleMatchesBTF checks it.
type exeSampleHeader struct {
	StartNs uint64
	PID     uint32
	PathLen uint16
	Flags   uint16
}

const exeSampleHeaderSize = int(unsafe.Sizeof(exeSampleHeader{}))

// DecodeExecutables parses the executables iterator's output: per process a
// header and its path. Kernel threads are not listed; a process listed
// without an executable is kept, with an empty Path: that it was seen is an
// answer too.
func DecodeExecutables(raw []byte) (map[uint32]Executable, error) {
	exes := make(map[uint32]Executable)
	for len(raw) > 0 {
		if len(raw) < exeSampleHeaderSize {
			return exes, fmt.Errorf("executables iterator: %d trailing bytes, a header is %d", len(raw), exeSampleHeaderSize)
		}
		var h exeSampleHeader
		h.StartNs = binary.NativeEndian.Uint64(raw[unsafe.Offsetof(h.StartNs):])
		h.PID = binary.NativeEndian.Uint32(raw[unsafe.Offsetof(h.PID):])
		h.PathLen = binary.NativeEndian.Uint16(raw[unsafe.Offsetof(h.PathLen):])
		h.Flags = binary.NativeEndian.Uint16(raw[unsafe.Offsetof(h.Flags):])
		raw = raw[exeSampleHeaderSize:]
		if int(h.PathLen) > len(raw) {
			return exes, fmt.Errorf("executables iterator: pid %d path of %d bytes, %d left", h.PID, h.PathLen, len(raw))
		}
		path := raw[:h.PathLen]
		raw = raw[h.PathLen:]
		exes[h.PID] = Executable{
			StartTime: h.StartNs,
			Path:      validString(path),
			Fileless:  uint32(h.Flags)&FlagFileless != 0,
			Truncated: uint32(h.Flags)&FlagFilenameTruncated != 0,
		}
	}
	return exes, nil
}
