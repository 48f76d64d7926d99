package bpf_test

import (
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/linnix-os/otelcol-linnix/bpf"
	"github.com/linnix-os/otelcol-linnix/internal/kerneltest"
)

// With batched wakeups, the first record after a quiet spell must still
// wake the reader: a reader that found the ring empty a wakeup interval
// after the last wakeup sleeps with no timer, so a record written without
// a wakeup would wait for whatever the host does next.
func TestFirstRecordAfterQuietWakesTheReader(t *testing.T) {
	kerneltest.Require(t)
	kerneltest.Exclusive(t)
	const interval = 20 * time.Millisecond
	p, err := bpf.Open(bpf.Options{RingBufferSize: 1 << 20, WakeupBytes: 1 << 17, WakeupInterval: interval})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	var dec bpf.Decoder
	seen := map[uint32]bool{}
	drain := func() (n int) {
		for {
			raw, err := p.ReadRaw()
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return n
			}
			if err != nil {
				t.Fatal(err)
			}
			var e bpf.Event
			if err := dec.Decode(raw, &e); err != nil {
				t.Fatal(err)
			}
			n++
			seen[e.PID] = true
		}
	}
	for round := range 3 {
		drain()
		// The child starts once the reader is asleep with no timer, as
		// a reader is after a quiet interval.
		pids := make(chan uint32, 1)
		go func() {
			time.Sleep(10 * interval)
			child := exec.Command("/bin/true")
			if err := child.Start(); err != nil {
				t.Error(err)
			}
			pids <- uint32(child.Process.Pid)
			_ = child.Wait()
		}()
		// The reader's rule: after a wakeup, collect again an interval
		// later; after a timed collection that found nothing, wait for
		// the next wakeup alone (a minute here, what a missing wakeup
		// would cost on an idle host).
		began := time.Now()
		var pid uint32
		wait, found := time.Minute, false
		for !found {
			err := p.Wait(time.Now().Add(wait))
			timedOut := errors.Is(err, os.ErrDeadlineExceeded)
			if err != nil && !timedOut {
				t.Fatal(err)
			}
			if timedOut && wait == time.Minute {
				t.Fatalf("round %d: no wakeup in %v", round, time.Since(began))
			}
			if pid == 0 {
				select {
				case pid = <-pids:
				default:
				}
			}
			n := drain()
			found = pid != 0 && seen[pid]
			if timedOut && n == 0 {
				wait = time.Minute
			} else {
				wait = interval
			}
		}
		t.Logf("round %d: the child's records read %v after the wait began", round, time.Since(began).Round(time.Microsecond))
	}
}
