//go:build amd64 || arm64

package main

import (
	"bufio"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// startupPagesDelay is how long after the process starts its executable's
// start-up pages are released: long past the package initializers, the
// configuration and the components' Start (BPF load included), which take
// a few seconds at most even on a loaded machine.
const startupPagesDelay = 30 * time.Second

// The package initializers of the ~550 packages linked in, and the
// collector's start-up, touch code and tables all over the binary once, and
// the kernel maps file pages 64 KiB at a time around each touch
// (fault-around): a minute in, ~39 MiB of the ~51 MiB file counted in the
// collector's RSS. Released once start-up is over, the idle collector faults
// back ~12 MiB of it (bench/idle-rss.sh). Clean file pages are what the
// kernel itself drops under memory pressure: this only does it early.
func init() {
	go func() {
		time.Sleep(startupPagesDelay)
		// Best effort: a failure leaves the pages mapped, as without this.
		_ = releaseExecutablePages()
	}()
}

// releaseExecutablePages unmaps the pages of the executable's read-only
// mappings (code, read-only data, the symbol table the runtime reads for
// stack walks) with MADV_DONTNEED. The data segment is writable and left
// alone: dropping it would lose what the program wrote. A read-only mapping
// with anonymous pages is left alone too: those are copies written by a
// debugger or a uprobe (breakpoints), which dropping would silently remove.
//
// Read-only data is then also dropped from the page cache, and marked
// MADV_RANDOM: fault-around maps only pages already cached, so each page the
// steady state reads again (a function's entry in the symbol table, for the
// garbage collector's and the profiler's stack walks, a type descriptor)
// comes back alone instead of with the 64 KiB around it. Those reads are
// scattered by nature; code is not, and keeps the kernel's defaults.
func releaseExecutablePages() error {
	exe, err := os.Open("/proc/self/exe")
	if err != nil {
		return err
	}
	defer exe.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(exe.Fd()), &st); err != nil {
		return err
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return err
	}
	defer f.Close()
	for _, m := range executableMappings(f, st.Dev, st.Ino) {
		if m.writable || m.anonymousKB > 0 {
			continue
		}
		if !m.executable {
			if err := madvise(m, syscall.MADV_RANDOM); err != nil {
				return err
			}
		}
		if err := madvise(m, syscall.MADV_DONTNEED); err != nil {
			return err
		}
		if !m.executable {
			const fadvDontNeed = 4 // POSIX_FADV_DONTNEED
			if _, _, errno := syscall.Syscall6(syscall.SYS_FADVISE64, exe.Fd(), uintptr(m.offset), uintptr(m.end-m.start), fadvDontNeed, 0, 0); errno != 0 {
				return errno
			}
		}
	}
	return nil
}

func madvise(m mapping, advice int) error {
	if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, m.start, m.end-m.start, uintptr(advice)); errno != 0 {
		return errno
	}
	return nil
}

// mapping is one line of /proc/self/smaps with the fields used here.
type mapping struct {
	start, end           uintptr
	offset               uint64 // in the file
	writable, executable bool
	anonymousKB          uint64
}

// executableMappings returns the mappings of the file with the given device
// and inode, read from an smaps listing.
func executableMappings(smaps io.Reader, dev, ino uint64) []mapping {
	var out []mapping
	var cur *mapping
	s := bufio.NewScanner(smaps)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) == 0 {
			continue
		}
		// A mapping's header: "start-end perms offset major:minor inode [path]";
		// its details are "Key: value [unit]" lines.
		if lo, hi, ok := strings.Cut(fields[0], "-"); ok && len(fields) >= 5 {
			cur = nil
			start, err1 := strconv.ParseUint(lo, 16, 64)
			end, err2 := strconv.ParseUint(hi, 16, 64)
			offset, err3 := strconv.ParseUint(fields[2], 16, 64)
			inode, err4 := strconv.ParseUint(fields[4], 10, 64)
			if err1 != nil || err2 != nil || err3 != nil || err4 != nil || inode != ino || !sameDevice(fields[3], dev) {
				continue
			}
			out = append(out, mapping{
				start: uintptr(start), end: uintptr(end), offset: offset,
				writable: strings.Contains(fields[1], "w"), executable: strings.Contains(fields[1], "x"),
			})
			cur = &out[len(out)-1]
			continue
		}
		if cur != nil && fields[0] == "Anonymous:" && len(fields) >= 2 {
			cur.anonymousKB, _ = strconv.ParseUint(fields[1], 10, 64)
		}
	}
	return out
}

// sameDevice compares smaps' "major:minor" (hexadecimal) with a stat device
// number.
func sameDevice(majmin string, dev uint64) bool {
	maj, min, ok := strings.Cut(majmin, ":")
	if !ok {
		return false
	}
	ma, err1 := strconv.ParseUint(maj, 16, 32)
	mi, err2 := strconv.ParseUint(min, 16, 32)
	if err1 != nil || err2 != nil {
		return false
	}
	// The encoding of glibc's makedev, which the kernel's stat follows.
	return dev == (ma&0xfff)<<8|(ma&^0xfff)<<32|(mi&0xff)|(mi&^0xff)<<12
}
