package bpf

import (
	"encoding/binary"
	"errors"
	"reflect"
	"slices"
	"testing"
)

// record builds a raw record the way process.bpf.c lays it out.
func record(typ EventType, filename, cgroup, argv string, mutate func(h []byte)) []byte {
	return recordCwd(typ, filename, "", cgroup, argv, mutate)
}

func recordCwd(typ EventType, filename, cwd, cgroup, argv string, mutate func(h []byte)) []byte {
	h := make([]byte, HeaderSize)
	le := binary.LittleEndian
	le.PutUint64(h[offTimestamp:], 2_000_000_000)
	le.PutUint64(h[offStart:], 1_000_000_000)
	le.PutUint64(h[offCgroupID:], 77)
	le.PutUint32(h[offType:], uint32(typ))
	le.PutUint32(h[offPID:], 4412)
	le.PutUint32(h[offTID:], 4412)
	le.PutUint32(h[offPPID:], 4400)
	le.PutUint32(h[offUID:], 1000)
	le.PutUint32(h[offEUID:], 1001)
	le.PutUint32(h[offGID:], 100)
	le.PutUint32(h[offEGID:], 101)
	le.PutUint32(h[offExitCode:], 7<<8)
	le.PutUint16(h[offFilenameLen:], uint16(len(filename)))
	le.PutUint16(h[offCwdLen:], uint16(len(cwd)))
	le.PutUint16(h[offCgroupLen:], uint16(len(cgroup)))
	le.PutUint32(h[offArgvLen:], uint32(len(argv)))
	le.PutUint32(h[offArgvTotalLen:], uint32(len(argv)))
	copy(h[offComm:], "python3\x00junk")
	le.PutUint64(h[offCPURuntime:], 3_000_000)
	le.PutUint64(h[offCPUUser:], 2_000_000)
	le.PutUint64(h[offCPUSystem:], 1_000_000)
	if mutate != nil {
		mutate(h)
	}
	return append(append(append(append(h, filename...), cwd...), cgroup...), argv...)
}

func TestDecodeExec(t *testing.T) {
	raw := record(EventExec, "/usr/bin/python3", "app.scope\x00system.slice\x00", "python3\x00-m\x00http.server\x00", nil)
	var e Event
	if err := Decode(raw, &e); err != nil {
		t.Fatal(err)
	}
	if e.Type != EventExec || e.PID != 4412 || e.PPID != 4400 || e.UID != 1000 || e.EUID != 1001 || e.GID != 100 || e.EGID != 101 {
		t.Errorf("header fields: %+v", e)
	}
	if e.CPURuntime != 3_000_000 || e.CPUUser != 2_000_000 || e.CPUSystem != 1_000_000 {
		t.Errorf("cpu fields: %+v", e)
	}
	if e.Timestamp != 2_000_000_000 || e.StartTime != 1_000_000_000 || e.CgroupID != 77 {
		t.Errorf("times or cgroup id: %+v", e)
	}
	if e.Comm != "python3" || e.Filename != "/usr/bin/python3" || e.CgroupPath != "/system.slice/app.scope" {
		t.Errorf("strings: comm %q file %q cgroup %q", e.Comm, e.Filename, e.CgroupPath)
	}
	if want := []string{"python3", "-m", "http.server"}; !slices.Equal(e.Argv, want) {
		t.Errorf("argv %q, want %q", e.Argv, want)
	}
	if e.ArgvTruncated() || e.IsThread() {
		t.Errorf("flags %#x", e.Flags)
	}
}

func TestDecodeExecPathsAndMarks(t *testing.T) {
	raw := recordCwd(EventExec, "memfd:payload", "/srv/app", "app.scope\x00", "x\x00", func(h []byte) {
		binary.LittleEndian.PutUint32(h[offFlags:], FlagFileless)
	})
	var e Event
	if err := Decode(raw, &e); err != nil {
		t.Fatal(err)
	}
	if e.Filename != "memfd:payload" || e.Cwd != "/srv/app" || e.CgroupPath != "/app.scope" || !slices.Equal(e.Argv, []string{"x"}) {
		t.Errorf("file %q cwd %q cgroup %q argv %q", e.Filename, e.Cwd, e.CgroupPath, e.Argv)
	}
	if !e.Fileless() || e.OOMKilled() {
		t.Errorf("flags %#x", e.Flags)
	}

	raw = record(EventExit, "", "", "", func(h []byte) {
		binary.LittleEndian.PutUint32(h[offFlags:], FlagOOMKilled)
		binary.LittleEndian.PutUint64(h[offOOMRSS:], 64<<20)
		binary.LittleEndian.PutUint32(h[offExitCode:], 9)
	})
	if err := Decode(raw, &e); err != nil {
		t.Fatal(err)
	}
	if code, sig, _ := e.ExitCode(); !e.OOMKilled() || e.OOMRSS != 64<<20 || code != 137 || sig != 9 {
		t.Errorf("oom exit: killed %v rss %d code %d signal %d", e.OOMKilled(), e.OOMRSS, code, sig)
	}
}

func TestDecodeTruncatedArgvAndRootCgroup(t *testing.T) {
	raw := record(EventExec, "/bin/sh", "", "sh\x00--password=x\x00aaaa", func(h []byte) {
		binary.LittleEndian.PutUint32(h[offFlags:], FlagArgvTruncated)
	})
	var e Event
	if err := Decode(raw, &e); err != nil {
		t.Fatal(err)
	}
	if want := []string{"sh", "--password=x", "aaaa"}; !slices.Equal(e.Argv, want) || !e.ArgvTruncated() {
		t.Errorf("argv %q truncated=%v", e.Argv, e.ArgvTruncated())
	}
	if e.CgroupPath != "/" {
		t.Errorf("root cgroup path %q", e.CgroupPath)
	}
}

func TestDecodeInvalidUTF8IsReplaced(t *testing.T) {
	raw := record(EventExec, "/tmp/\xff\xfe", "", "a\xc3\x00", nil)
	var e Event
	if err := Decode(raw, &e); err != nil {
		t.Fatal(err)
	}
	if e.Filename != "/tmp/\uFFFD\uFFFD" && e.Filename != "/tmp/\uFFFD" || e.Argv[0] != "a\uFFFD" {
		t.Errorf("not sanitised: %q %q", e.Filename, e.Argv)
	}
}

func TestExitCode(t *testing.T) {
	cases := []struct {
		status    uint32
		code, sig int
		core      bool
	}{
		{0, 0, 0, false},
		{7 << 8, 7, 0, false},
		{9, 137, 9, false},
		{11 | 0x80, 139, 11, true},
	}
	for _, c := range cases {
		e := Event{ExitStatus: c.status}
		code, sig, core := e.ExitCode()
		if code != c.code || sig != c.sig || core != c.core {
			t.Errorf("status %#x: got (%d,%d,%v), want (%d,%d,%v)", c.status, code, sig, core, c.code, c.sig, c.core)
		}
	}
}

func TestDecodeRejectsMalformed(t *testing.T) {
	good := record(EventExit, "", "a\x00", "", nil)
	cases := map[string][]byte{
		"empty":         nil,
		"short header":  good[:HeaderSize-1],
		"missing data":  good[:len(good)-1],
		"trailing data": append(append([]byte{}, good...), 0),
		"unknown type": record(EventExit, "", "", "", func(h []byte) {
			binary.LittleEndian.PutUint32(h[offType:], 9)
		}),
		"huge argv length": record(EventExec, "", "", "", func(h []byte) {
			binary.LittleEndian.PutUint32(h[offArgvLen:], 0xffffffff)
		}),
	}
	for name, raw := range cases {
		var e Event
		if err := Decode(raw, &e); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	var e Event
	if err := Decode(good[:10], &e); !errors.Is(err, ErrShortRecord) {
		t.Errorf("short record error = %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(record(EventExec, "/usr/bin/python3", "a\x00b\x00", "python3\x00-c\x00", nil))
	f.Add(record(EventFork, "", "", "", nil))
	f.Add(record(EventExit, "", "x", "", nil))
	f.Add([]byte{})
	// One Decoder across inputs, as the receiver keeps one: what it
	// interned from earlier records must never leak into a later one.
	var d Decoder
	f.Fuzz(func(t *testing.T, raw []byte) {
		var e, interned Event
		err := Decode(raw, &e)
		if derr := d.Decode(raw, &interned); (err == nil) != (derr == nil) {
			t.Fatalf("Decode says %v, the Decoder %v", err, derr)
		}
		if err != nil {
			return
		}
		if !reflect.DeepEqual(e, interned) {
			t.Fatalf("the Decoder gave %+v, Decode %+v", interned, e)
		}
		// Whatever decodes must describe exactly the bytes it came from.
		if len(raw) < HeaderSize || len(e.Filename) > len(raw) || e.Type < EventFork || e.Type > EventExit {
			t.Fatalf("accepted inconsistent record: %+v", e)
		}
	})
}

// The Decoder must produce what Decode does, record after record, and
// convert a repeated string only once.
func TestDecoderMatchesDecode(t *testing.T) {
	raws := [][]byte{
		recordCwd(EventExec, "/usr/bin/python3", "/srv/app", "app.scope\x00system.slice\x00", "python3\x00-m\x00", nil),
		record(EventFork, "/usr/bin/python3", "app.scope\x00system.slice\x00", "", nil),
		record(EventExit, "/usr/bin/bad\xff", "other.scope\x00", "", nil),
		record(EventExit, "", "", "", nil),
		recordCwd(EventExec, "/usr/bin/python3", "/srv/app", "app.scope\x00system.slice\x00", "python3\x00-c\x00", nil),
	}
	var d Decoder
	for round := range 2 {
		for i, raw := range raws {
			var want, got Event
			if err := Decode(raw, &want); err != nil {
				t.Fatal(err)
			}
			if err := d.Decode(raw, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(want, got) {
				t.Errorf("round %d record %d: Decoder gave %+v, Decode %+v", round, i, got, want)
			}
		}
	}
	// A record seen before allocates only its argument list.
	raw := raws[0]
	var e Event
	allocs := testing.AllocsPerRun(100, func() { _ = d.Decode(raw, &e) })
	if allocs > 3 { // the argv slice and its two strings
		t.Errorf("a repeated record costs %.0f allocations, want at most 3", allocs)
	}
	if plain := testing.AllocsPerRun(100, func() { _ = Decode(raw, &e) }); plain <= allocs {
		t.Errorf("Decode allocates %.0f times, the Decoder %.0f: interning saves nothing", plain, allocs)
	}
}
