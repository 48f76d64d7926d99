package main

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// heapTidyInterval is how often the heap is looked at. A load that stopped
// leaves its memory returned within two of these.
const heapTidyInterval = 30 * time.Second

// heapTidySlack is how much heap memory, held but not live, is worth a
// collection to return: an idle collector holds a few MiB of it, which the
// next collections reuse.
const heapTidySlack = 16 << 20

// After a burst (a spawn storm: thousands of records a second, thousands of
// processes' series) the Go heap stays as large as the burst made it: the
// runtime collects garbage when the heap reaches twice what was live at the
// last collection, which an idle collector takes minutes to allocate (and
// the runtime's own forced collection comes only every two minutes), and it
// only returns to the kernel what lies above that goal. A soak run held
// 97 MB for minutes after the load had gone, 40 MB idle before it. So
// every heapTidyInterval, a heap that went through no collection since the
// last look and holds heapTidySlack more than the last tidy left is
// collected, and its free memory returned to the kernel at once. Under load
// the runtime collects often and this never acts; an idle collector's heap
// stays within the slack, so it does not act then either: at most one
// collection per interval, and only after a burst.
//
// Whoever set GOGC (off, with a GOMEMLIMIT to collect against, or a pace of
// their own) chose when to collect; the tidier stays off. A GOMEMLIMIT
// alone (the Kubernetes example sets one from the container's limit) only
// caps the heap, and a burst's memory is still worth returning below it.
func init() {
	if !heapTidyWanted(os.Getenv) {
		return
	}
	go func() {
		var t heapTidier
		for range time.Tick(heapTidyInterval) {
			t.tidy()
		}
	}()
}

// heapTidyWanted: unless GOGC is set.
func heapTidyWanted(getenv func(string) string) bool {
	return getenv("GOGC") == ""
}

// heapSample is what the tidier reads of the runtime.
type heapSample struct {
	gcCycles uint64
	// held is the heap memory held from the kernel: objects (live or
	// garbage not yet collected), free and unused span space.
	held uint64
}

var heapMetrics = []string{
	"/gc/cycles/total:gc-cycles",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/unused:bytes",
}

func readHeap() heapSample {
	s := make([]metrics.Sample, len(heapMetrics))
	for i, name := range heapMetrics {
		s[i].Name = name
	}
	metrics.Read(s)
	var h heapSample
	for i := range s {
		if s[i].Value.Kind() != metrics.KindUint64 {
			continue
		}
		if i == 0 {
			h.gcCycles = s[i].Value.Uint64()
		} else {
			h.held += s[i].Value.Uint64()
		}
	}
	return h
}

// heapTidier decides from one look to the next. The zero value reads the
// runtime; tests give it their own read and free.
type heapTidier struct {
	read func() heapSample
	free func()

	looked   bool
	gcCycles uint64 // at the last look
	// base is what the heap held right after the last tidy: what was live
	// then. Until it holds heapTidySlack more, a tidy would find little.
	base uint64
}

// shouldTidy: no collection since the last look, so the runtime is not
// about to collect on its own, and the heap holds heapTidySlack more than
// the last tidy left, which a collection now may find dead: how much, only
// a collection can tell.
func (t *heapTidier) shouldTidy(s heapSample) bool {
	return t.looked && s.gcCycles == t.gcCycles && s.held > t.base+heapTidySlack
}

// tidy looks at the heap and, if it should, collects it and returns its free
// memory to the kernel. It reports whether it did.
func (t *heapTidier) tidy() bool {
	read, free := t.read, t.free
	if read == nil {
		read, free = readHeap, debug.FreeOSMemory
	}
	s := read()
	did := t.shouldTidy(s)
	if did {
		free()
		s = read()
		t.base = s.held
	}
	t.looked, t.gcCycles = true, s.gcCycles
	return did
}
