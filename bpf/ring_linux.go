package bpf

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// The kernel's ring buffer record header (struct bpf_ringbuf_hdr): a length
// whose two top bits say the record is still being written or was
// discarded, and a page offset only the kernel uses.
const (
	ringHeaderSize = 8
	ringBusyBit    = 1 << 31
	ringDiscardBit = 1 << 30
)

// ring consumes a BPF ring buffer through its memory mappings alone. A
// drain costs no system call: reading a record is two atomic loads and a
// slice, and polling for wakeups is Probe.Wait's job. (A reader that polls
// epoll before every drain makes two system calls per drain, and each one
// also wakes the Go runtime's monitor thread, which then polls every 20 µs
// for a while: on a busy host that cost more than the records.)
type ring struct {
	// consPos and prodPos point into the mappings and never change, so
	// that available needs no lock.
	consPos, prodPos *uint64
	mu               sync.Mutex
	// cons is the consumer page (read-write), prod the producer page
	// followed by the data pages mapped twice in a row, so that a record
	// that wraps around the end reads as one slice. nil once closed.
	cons, prod []byte
	data       []byte
	mask       uint64
	// next is the consumer position to publish once the caller is done
	// with the record last returned, which points into the ring.
	next    uint64
	pending bool
}

func openRing(m *ebpf.Map) (*ring, error) {
	size := int(m.MaxEntries())
	page := os.Getpagesize()
	fd := m.FD()
	cons, err := unix.Mmap(fd, 0, page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mapping the ring buffer's consumer page: %w", err)
	}
	prod, err := unix.Mmap(fd, int64(page), page+2*size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		_ = unix.Munmap(cons)
		return nil, fmt.Errorf("mapping the ring buffer's data: %w", err)
	}
	return &ring{
		consPos: (*uint64)(unsafe.Pointer(&cons[0])),
		prodPos: (*uint64)(unsafe.Pointer(&prod[0])),
		cons:    cons, prod: prod, data: prod[page:], mask: uint64(size - 1),
	}, nil
}

// available is the number of bytes written and not yet consumed. It is
// safe to call while another goroutine reads, not after close.
func (r *ring) available() uint64 {
	return atomic.LoadUint64(r.prodPos) - atomic.LoadUint64(r.consPos)
}

// read returns the next record, valid until the next call, or
// os.ErrDeadlineExceeded when the ring is empty.
func (r *ring) read() ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cons == nil {
		return nil, fmt.Errorf("ring buffer: %w", os.ErrClosed)
	}
	cons := atomic.LoadUint64(r.consPos)
	if r.pending {
		// The caller is done with the previous record: give its space
		// back to the kernel.
		cons = r.next
		atomic.StoreUint64(r.consPos, cons)
		r.pending = false
	}
	for {
		prod := atomic.LoadUint64(r.prodPos)
		if prod == cons {
			return nil, os.ErrDeadlineExceeded
		}
		if prod-cons < ringHeaderSize {
			return nil, fmt.Errorf("ring buffer record header: %w", io.ErrUnexpectedEOF)
		}
		start := cons & r.mask
		// The atomic load pairs with the kernel's commit (an xchg of this
		// word): once the busy bit is clear, the record's bytes are
		// visible.
		hdr := atomic.LoadUint32((*uint32)(unsafe.Pointer(&r.data[start])))
		if hdr&ringBusyBit != 0 {
			// Reserved and still being written by a program running
			// right now; the next record cannot be read before it.
			continue
		}
		n := uint64(hdr &^ (ringBusyBit | ringDiscardBit))
		end := cons + ringHeaderSize + (n+7)&^7
		if end > prod {
			return nil, fmt.Errorf("ring buffer record of %d bytes: %w", n, io.ErrUnexpectedEOF)
		}
		if hdr&ringDiscardBit != 0 {
			cons = end
			atomic.StoreUint64(r.consPos, cons)
			continue
		}
		r.next, r.pending = end, true
		from := start + ringHeaderSize
		return r.data[from : from+n : from+n], nil
	}
}

// close unmaps the ring; later reads return os.ErrClosed.
func (r *ring) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cons == nil {
		return nil
	}
	err := unix.Munmap(r.prod)
	if e := unix.Munmap(r.cons); err == nil {
		err = e
	}
	r.cons, r.prod, r.data = nil, nil, nil
	return err
}
