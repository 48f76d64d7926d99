package bpf

import (
	"encoding/binary"
	"strings"
	"testing"
)

// exeRecord encodes one executables iterator record as the kernel writes it.
func exeRecord(pid uint32, start uint64, flags uint16, path string) []byte {
	b := make([]byte, exeSampleHeaderSize, exeSampleHeaderSize+len(path))
	binary.NativeEndian.PutUint64(b[0:], start)
	binary.NativeEndian.PutUint32(b[8:], pid)
	binary.NativeEndian.PutUint16(b[12:], uint16(len(path)))
	binary.NativeEndian.PutUint16(b[14:], flags)
	return append(b, path...)
}

func TestDecodeExecutables(t *testing.T) {
	var raw []byte
	raw = append(raw, exeRecord(10, 1e9, 0, "/usr/bin/sleep")...)
	raw = append(raw, exeRecord(11, 2e9, uint16(FlagFileless), "memfd:payload")...)
	raw = append(raw, exeRecord(12, 3e9, uint16(FlagFilenameTruncated), "lib/deep/prog")...)
	raw = append(raw, exeRecord(13, 4e9, 0, "")...) // a zombie: no mm
	raw = append(raw, exeRecord(14, 5e9, 0, "/opt/\xffbad")...)
	exes, err := DecodeExecutables(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint32]Executable{
		10: {StartTime: 1e9, Path: "/usr/bin/sleep"},
		11: {StartTime: 2e9, Path: "memfd:payload", Fileless: true},
		12: {StartTime: 3e9, Path: "lib/deep/prog", Truncated: true},
		13: {StartTime: 4e9},
		14: {StartTime: 5e9, Path: "/opt/\uFFFDbad"},
	}
	if len(exes) != len(want) { // 13 too: listed without an executable
		t.Errorf("%d executables, want %d: %+v", len(exes), len(want), exes)
	}
	for pid, w := range want {
		if exes[pid] != w {
			t.Errorf("pid %d: %+v, want %+v", pid, exes[pid], w)
		}
	}
}

func TestDecodeExecutablesRejectsMalformedOutput(t *testing.T) {
	good := exeRecord(10, 1e9, 0, "/usr/bin/sleep")
	for name, tc := range map[string]struct {
		raw  []byte
		want string
	}{
		"trailing bytes": {append(append([]byte{}, good...), 1, 2, 3), "3 trailing bytes"},
		"path past the end": {append(append([]byte{}, good...), exeRecord(11, 1, 0, "/bin/true")[:exeSampleHeaderSize+4]...),
			"pid 11 path of 9 bytes, 4 left"},
	} {
		exes, err := DecodeExecutables(tc.raw)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", name, err, tc.want)
		}
		// What was whole before the damage is kept.
		if exes[10].Path != "/usr/bin/sleep" {
			t.Errorf("%s: lost the whole record before the damage: %+v", name, exes)
		}
	}
}
