package linnixinsightsexporter

import (
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
	"github.com/linnix-os/otelcol-linnix/internal/insightsapi"
)

// entry is one record of the event stream: what the filters look at, and
// its SSE frame, encoded once and shared by every client and the replay
// ring.
type entry struct {
	typ       insightsapi.EventType
	pid       int64
	exe       string
	container string
	sevRank   int // contract.SeverityRank of an incident; -1 otherwise
	frame     []byte
}

// filter is a client's choice of records; the zero value takes all.
type filter struct {
	types     map[insightsapi.EventType]bool
	exe       string
	pid       int64
	container string
	minSev    int // -1: any record; else only incidents at or above
}

// parseFilter reads the query of PathEvents; an error names the parameter.
func parseFilter(q url.Values) (filter, int, error) {
	f := filter{minSev: -1}
	if v := q.Get(insightsapi.QueryType); v != "" {
		f.types = map[insightsapi.EventType]bool{}
		for t := range strings.SplitSeq(v, ",") {
			switch et := insightsapi.EventType(strings.TrimSpace(t)); et {
			case insightsapi.EventFork, insightsapi.EventExec, insightsapi.EventExit, insightsapi.EventIncident:
				f.types[et] = true
			default:
				return f, 0, badParam(insightsapi.QueryType, t, "fork, exec, exit or incident")
			}
		}
	}
	f.exe = q.Get(insightsapi.QueryExecutable)
	f.container = q.Get(insightsapi.QueryContainer)
	if v := q.Get(insightsapi.QueryPID); v != "" {
		pid, err := strconv.ParseInt(v, 10, 64)
		if err != nil || pid <= 0 {
			return f, 0, badParam(insightsapi.QueryPID, v, "a process id")
		}
		f.pid = pid
	}
	if v := q.Get(insightsapi.QuerySeverity); v != "" {
		if f.minSev = contract.SeverityRank(v); f.minSev < 0 {
			return f, 0, badParam(insightsapi.QuerySeverity, v, strings.Join(contract.Severities, ", "))
		}
	}
	replay := 0
	if v := q.Get(insightsapi.QueryReplay); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return f, 0, badParam(insightsapi.QueryReplay, v, "a number of records")
		}
		replay = n
	}
	return f, replay, nil
}

func (f *filter) match(e *entry) bool {
	if f.types != nil && !f.types[e.typ] {
		return false
	}
	if f.exe != "" && e.exe != f.exe {
		return false
	}
	if f.pid != 0 && e.pid != f.pid {
		return false
	}
	if f.container != "" && !strings.HasPrefix(e.container, f.container) {
		return false
	}
	return f.minSev < 0 || e.sevRank >= f.minSev
}

// client is one open event stream. The pipeline puts records in ch
// without waiting; when ch is full the record is counted in missed
// instead, and the client's writer reports the count when it catches up.
type client struct {
	filter filter
	ch     chan *entry
	missed atomic.Uint64 // since the last `dropped` message
	total  atomic.Uint64 // since the client connected
}

// hub keeps the replay ring and the clients. publish and subscribe take
// the same lock, so a new client's replay and its live records neither
// overlap nor leave a gap.
type hub struct {
	mu      sync.Mutex
	ring    []*entry
	next    int // where the next entry goes
	full    bool
	clients map[*client]struct{}
	max     int // clients at once
	buffer  int // each client's channel capacity
	dropped atomic.Uint64
}

func newHub(size, maxClients, buffer int) *hub {
	return &hub{ring: make([]*entry, size), clients: map[*client]struct{}{}, max: maxClients, buffer: buffer}
}

// publish adds entries to the ring and offers them to every client, never
// waiting for one. It returns how many deliveries were dropped.
func (h *hub) publish(entries []*entry) uint64 {
	var dropped uint64
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range entries {
		h.ring[h.next] = e
		if h.next++; h.next == len(h.ring) {
			h.next, h.full = 0, true
		}
		for c := range h.clients {
			if !c.filter.match(e) {
				continue
			}
			select {
			case c.ch <- e:
			default:
				c.missed.Add(1)
				c.total.Add(1)
				dropped++
			}
		}
	}
	h.dropped.Add(dropped)
	return dropped
}

// subscribe registers a client and returns up to replay retained records
// that match its filter, oldest first; nil when the hub is at its limit.
func (h *hub) subscribe(f filter, replay int) (*client, []*entry) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.clients) >= h.max {
		return nil, nil
	}
	var back []*entry
	n := h.next
	if h.full {
		n = len(h.ring)
	}
	for i := 1; i <= n && len(back) < replay; i++ {
		e := h.ring[(h.next-i+len(h.ring))%len(h.ring)]
		if f.match(e) {
			back = append(back, e)
		}
	}
	for i, j := 0, len(back)-1; i < j; i, j = i+1, j-1 {
		back[i], back[j] = back[j], back[i]
	}
	c := &client{filter: f, ch: make(chan *entry, h.buffer)}
	h.clients[c] = struct{}{}
	return c, back
}

func (h *hub) unsubscribe(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.clients, c)
}

func (h *hub) clientCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}
