//go:build amd64 || arm64

package main

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExecutableMappingsAreFoundByDeviceAndInode(t *testing.T) {
	smaps := `00400000-01b86000 r-xp 00000000 fe:00 1234 /usr/bin/otelcol-linnix
Size:              24088 kB
Rss:               18876 kB
Anonymous:             0 kB
01b86000-035aa000 r--p 01786000 fe:00 1234 /usr/bin/otelcol-linnix
Rss:               19344 kB
Anonymous:             4 kB
035aa000-03761000 rw-p 031aa000 fe:00 1234 /usr/bin/otelcol-linnix
Anonymous:           312 kB
7f0000000000-7f0001000000 r--s 00001000 00:10 1234 anon_inode:bpf-map
Anonymous:             0 kB
7f0002000000-7f0002001000 r--p 00000000 fe:01 1234 /usr/lib/other
Anonymous:             0 kB
`
	// fe:00 as a stat device number.
	got := executableMappings(strings.NewReader(smaps), 0xfe00, 1234)
	assert.Equal(t, []mapping{
		{start: 0x400000, end: 0x1b86000, executable: true},
		{start: 0x1b86000, end: 0x35aa000, offset: 0x1786000, anonymousKB: 4},
		{start: 0x35aa000, end: 0x3761000, offset: 0x31aa000, writable: true, anonymousKB: 312},
	}, got, "the bpf map shares the inode number on another device, the library the device with another inode")
}

func TestReleaseUnmapsTheReadOnlyPagesOfTheExecutable(t *testing.T) {
	before := readOnlyExecutableRSS(t)
	require.Positive(t, before.code, "the running test's code is resident")
	require.NoError(t, releaseExecutablePages())
	after := readOnlyExecutableRSS(t)
	t.Logf("resident read-only pages of the executable: %d kB before, %d kB after", before.code, after.code)
	// What the test touches again right away faults back in, and how much
	// comes with each fault depends on the file system the binary is on
	// (a test binary in a tmpfs maps its read-only data back whole).
	assert.Less(t, after.code, before.code)
}

func TestReleaseKeepsMappingsWithWrittenCopies(t *testing.T) {
	// Writing a byte of read-only data through /proc/self/mem, as a
	// debugger plants a breakpoint, gives its mapping a private copy.
	m := firstReadOnlyDataMapping(t)
	mem, err := os.OpenFile("/proc/self/mem", os.O_RDWR, 0)
	require.NoError(t, err)
	defer mem.Close()
	b := make([]byte, 1)
	_, err = mem.ReadAt(b, int64(m.start))
	require.NoError(t, err)
	_, err = mem.WriteAt(b, int64(m.start))
	require.NoError(t, err)

	before := readOnlyExecutableRSS(t)
	require.Positive(t, before.written, "the write made a private copy")
	require.NoError(t, releaseExecutablePages())
	after := readOnlyExecutableRSS(t)
	assert.GreaterOrEqual(t, after.written, before.written, "the mapping with the copy is left alone")
}

type residentKB struct {
	code    uint64 // read-only mappings of the executable without private copies
	written uint64 // read-only mappings of the executable with private copies
}

// readOnlyExecutableRSS sums the Rss of the executable's read-only mappings
// from /proc/self/smaps, the kernel's own account.
func readOnlyExecutableRSS(t *testing.T) residentKB {
	t.Helper()
	var exe syscall.Stat_t
	require.NoError(t, syscall.Stat("/proc/self/exe", &exe))
	data, err := os.ReadFile("/proc/self/smaps")
	require.NoError(t, err)
	type counts struct{ rss, anonymous uint64 }
	var all []*counts
	var cur *counts
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		if !strings.HasSuffix(fields[0], ":") {
			cur = nil
			if m := executableMappings(strings.NewReader(line), exe.Dev, exe.Ino); len(m) == 1 && !m[0].writable {
				cur = &counts{}
				all = append(all, cur)
			}
			continue
		}
		if cur == nil {
			continue
		}
		kb, err := strconv.ParseUint(fields[1], 10, 64)
		if err != nil {
			continue
		}
		switch fields[0] {
		case "Rss:":
			cur.rss = kb
		case "Anonymous:":
			cur.anonymous = kb
		}
	}
	var out residentKB
	for _, c := range all {
		if c.anonymous > 0 {
			out.written += c.rss
		} else {
			out.code += c.rss
		}
	}
	return out
}

// firstReadOnlyDataMapping is the executable's first read-only mapping that
// is not code.
func firstReadOnlyDataMapping(t *testing.T) mapping {
	t.Helper()
	var exe syscall.Stat_t
	require.NoError(t, syscall.Stat("/proc/self/exe", &exe))
	data, err := os.ReadFile("/proc/self/maps")
	require.NoError(t, err)
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 5 || fields[1] != "r--p" {
			continue
		}
		if m := executableMappings(strings.NewReader(line), exe.Dev, exe.Ino); len(m) == 1 {
			return m[0]
		}
	}
	t.Fatal("no read-only data mapping of the executable in /proc/self/maps")
	return mapping{}
}
