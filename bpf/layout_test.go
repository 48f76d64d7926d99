package bpf

import (
	"reflect"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"
)

// TestHeaderLayoutMatchesBTF pins the decoder's offsets to struct event_hdr
// as compiled into the embedded object.
func TestHeaderLayoutMatchesBTF(t *testing.T) {
	spec, err := loadProcess()
	if err != nil {
		t.Fatal(err)
	}
	var hdr *btf.Struct
	if err := spec.Types.TypeByName("event_hdr", &hdr); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{
		"timestamp_ns": offTimestamp, "start_ns": offStart, "cgroup_id": offCgroupID,
		"type": offType, "pid": offPID, "tid": offTID, "ppid": offPPID,
		"uid": offUID, "euid": offEUID, "gid": offGID, "egid": offEGID,
		"exit_code": offExitCode, "flags": offFlags, "cgroup_hierarchy": offCgroupHierarchy,
		"filename_len": offFilenameLen, "cgroup_len": offCgroupLen,
		"argv_len": offArgvLen, "argv_total_len": offArgvTotalLen, "comm": offComm,
		"cpu_runtime_ns": offCPURuntime, "cpu_user_ns": offCPUUser, "cpu_system_ns": offCPUSystem,
		"oom_rss_bytes": offOOMRSS, "cwd_len": offCwdLen, "pad16": offPad16, "pad32": offPad32,
	}
	if int(hdr.Size) != HeaderSize {
		t.Errorf("event_hdr is %d bytes, decoder expects %d", hdr.Size, HeaderSize)
	}
	if len(hdr.Members) != len(want) {
		t.Errorf("event_hdr has %d fields, decoder knows %d", len(hdr.Members), len(want))
	}
	for _, m := range hdr.Members {
		off, ok := want[m.Name]
		if !ok {
			t.Errorf("field %s is unknown to the decoder", m.Name)
			continue
		}
		if int(m.Offset.Bytes()) != off {
			t.Errorf("field %s at offset %d, decoder reads %d", m.Name, m.Offset.Bytes(), off)
		}
	}
}

func TestTaskSampleMatchesBTF(t *testing.T) {
	requireMirror(t, "task_sample", reflect.TypeOf(TaskSample{}))
}

func TestExeSampleMatchesBTF(t *testing.T) {
	requireMirror(t, "exe_sample", reflect.TypeOf(exeSampleHeader{}))
}

// requireMirror checks that goType has the C struct's size, fields,
// offsets and field sizes.
func requireMirror(t *testing.T, name string, goType reflect.Type) {
	t.Helper()
	spec, err := loadProcess()
	if err != nil {
		t.Fatal(err)
	}
	var st *btf.Struct
	if err := spec.Types.TypeByName(name, &st); err != nil {
		t.Fatal(err)
	}
	if uintptr(st.Size) != goType.Size() {
		t.Fatalf("%s is %d bytes, %s %d", name, st.Size, goType.Name(), goType.Size())
	}
	if goType.NumField() != len(st.Members) {
		t.Fatalf("%s has %d fields, %s %d", name, len(st.Members), goType.Name(), goType.NumField())
	}
	for i, m := range st.Members {
		f := goType.Field(i)
		if f.Offset != uintptr(m.Offset.Bytes()) {
			t.Errorf("%s at %d, Go field %s at %d", m.Name, m.Offset.Bytes(), f.Name, f.Offset)
		}
		size, err := btf.Sizeof(m.Type)
		if err != nil {
			t.Fatal(err)
		}
		if int(f.Type.Size()) != size {
			t.Errorf("%s is %d bytes, Go field %s %d", m.Name, size, f.Name, f.Type.Size())
		}
	}
}

// TestLimitsMatchBTF pins limits.go, which builds without the object, to
// enum limits as compiled into it, and checks the map and variable defaults
// that the loader overrides use the same numbers.
func TestLimitsMatchBTF(t *testing.T) {
	spec, err := loadProcess()
	if err != nil {
		t.Fatal(err)
	}
	var limits *btf.Enum
	if err := spec.Types.TypeByName("limits", &limits); err != nil {
		t.Fatal(err)
	}
	want := map[string]uint64{
		"ARGV_MAX_LEN":        MaxArgvBytes,
		"ARGV_DEFAULT_LEN":    DefaultArgvBytes,
		"RING_BUFFER_DEFAULT": DefaultRingBuffer,
		"RING_BUFFER_MIN":     MinRingBuffer,
	}
	if len(limits.Values) != len(want) {
		t.Errorf("enum limits has %d values, limits.go knows %d", len(limits.Values), len(want))
	}
	for _, v := range limits.Values {
		w, ok := want[v.Name]
		if !ok {
			t.Errorf("%s is unknown to limits.go", v.Name)
			continue
		}
		if v.Value != w {
			t.Errorf("%s is %d in process.bpf.c, %d in limits.go", v.Name, v.Value, w)
		}
	}
	if got := spec.Maps["events"].MaxEntries; got != DefaultRingBuffer {
		t.Errorf("events ring buffer is %d bytes in the object, DefaultRingBuffer %d", got, DefaultRingBuffer)
	}
	var argvMax uint32
	if err := spec.Variables["argv_max"].Get(&argvMax); err != nil {
		t.Fatal(err)
	}
	if argvMax != DefaultArgvBytes {
		t.Errorf("argv_max defaults to %d in the object, DefaultArgvBytes %d", argvMax, DefaultArgvBytes)
	}
	if got := spec.Maps["lost"].MaxEntries; got != uint32(EventExit)+1 {
		t.Errorf("lost has %d entries, Losses reads up to key %d", got, EventExit)
	}
}

// TestEventTypesAreNamed keeps EventType.String in step with enum
// event_type: every value the kernel side can write has a name.
func TestEventTypesAreNamed(t *testing.T) {
	spec, err := loadProcess()
	if err != nil {
		t.Fatal(err)
	}
	var types *btf.Enum
	if err := spec.Types.TypeByName("event_type", &types); err != nil {
		t.Fatal(err)
	}
	for _, v := range types.Values {
		if s := EventType(v.Value).String(); strings.HasPrefix(s, "unknown") {
			t.Errorf("%s (%d) has no name: %s", v.Name, v.Value, s)
		}
	}
	if len(types.Values) != int(EventExit-EventFork)+1 {
		t.Errorf("enum event_type has %d values, Decode accepts %d..%d", len(types.Values), EventFork, EventExit)
	}
}
