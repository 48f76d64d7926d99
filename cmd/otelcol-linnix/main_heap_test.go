package main

import (
	"runtime"
	"runtime/metrics"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The decisions, on samples given by the test.
func TestHeapTidyActsOnlyWhenIdleAfterGrowth(t *testing.T) {
	const mib = 1 << 20
	var next heapSample
	frees := 0
	tr := heapTidier{
		read: func() heapSample { return next },
		free: func() { frees++; next = heapSample{gcCycles: next.gcCycles + 1, held: 6 * mib} },
	}

	next = heapSample{gcCycles: 3, held: 90 * mib}
	assert.False(t, tr.tidy(), "the first look has nothing to compare with")
	next = heapSample{gcCycles: 4, held: 90 * mib}
	assert.False(t, tr.tidy(), "the runtime collected since the last look: busy")
	next = heapSample{gcCycles: 4, held: 90 * mib}
	assert.True(t, tr.tidy(), "idle and large: collected and returned")
	assert.Equal(t, 1, frees)
	assert.Equal(t, uint64(6*mib), tr.base)

	next = heapSample{gcCycles: 5, held: 20 * mib}
	assert.False(t, tr.tidy())
	next = heapSample{gcCycles: 5, held: 20 * mib}
	assert.False(t, tr.tidy(), "idle, but within the slack of what the last tidy left")
	next = heapSample{gcCycles: 5, held: 23 * mib}
	assert.True(t, tr.tidy(), "idle and 17 MiB over what the last tidy left")
	assert.Equal(t, 2, frees)
}

// On the real runtime: a heap left holding 64 MiB of dead objects, which
// the runtime has no reason to collect soon, is returned to the kernel.
func TestHeapTidyReturnsDeadMemory(t *testing.T) {
	released := func() uint64 {
		s := []metrics.Sample{{Name: "/memory/classes/heap/released:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	// The package's own tidier (or the test framework) may collect between
	// two looks: a few tries.
	for try := 0; ; try++ {
		keep := make([][]byte, 0, 64<<10)
		for range 64 << 10 {
			keep = append(keep, make([]byte, 1024))
		}
		runtime.GC() // live at this collection: the next one comes late
		runtime.KeepAlive(keep)
		keep = nil
		before := released()
		var tr heapTidier
		tr.tidy()
		did := tr.tidy()
		if !did && try < 5 {
			continue
		}
		require.True(t, did)
		after := released()
		t.Logf("released heap: %d MiB before, %d MiB after", before>>20, after>>20)
		assert.GreaterOrEqual(t, after, before+32<<20)
		assert.False(t, tr.tidy(), "nothing more to find")
		return
	}
}

func TestHeapTidyLeavesATunedRuntimeAlone(t *testing.T) {
	env := func(k, v string) func(string) string {
		return func(name string) string {
			if name == k {
				return v
			}
			return ""
		}
	}
	assert.True(t, heapTidyWanted(env("", "")))
	assert.False(t, heapTidyWanted(env("GOGC", "off")))
	assert.False(t, heapTidyWanted(env("GOGC", "200")))
	assert.True(t, heapTidyWanted(env("GOMEMLIMIT", "200MiB")), "a cap alone leaves the pace to the runtime")
}
