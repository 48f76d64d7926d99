package engine

import "time"

// maxRecentExits bounds the exits remembered: at a storm's exit rate the
// oldest go first, and a state made from their final samples then waits
// out stale_after like any other.
const maxRecentExits = 16384

// recentExits remembers the processes whose exit record was seen within
// stale_after. The ebpfprocess receiver reports a process that exited
// between two collections with one final sample at the next collection,
// after its exit record; without this, that sample would open per-process
// states that nothing marks exited, kept three times stale_after.
type recentExits struct {
	at    map[string]time.Time
	order []string // oldest first
	max   int
	// room is how many the storage was last sized for: a map keeps the
	// room it grew to, and order its backing array, long after a storm.
	room int
}

func newRecentExits(max int) *recentExits {
	return &recentExits{at: map[string]time.Time{}, max: max}
}

func (r *recentExits) add(key string, now time.Time, keep time.Duration) {
	if _, seen := r.at[key]; !seen {
		r.order = append(r.order, key)
		r.room = max(r.room, len(r.order))
	}
	r.at[key] = now
	r.prune(now, keep)
}

// prune forgets, oldest first, the exits seen longer than keep ago and any
// past the bound. Emptied, it lets go of its storage too: a map keeps the
// room it grew to during a storm.
func (r *recentExits) prune(now time.Time, keep time.Duration) {
	if r == nil {
		return
	}
	for len(r.order) > 0 {
		k := r.order[0]
		if len(r.order) <= r.max && now.Sub(r.at[k]) <= keep {
			break
		}
		delete(r.at, k)
		r.order[0] = ""
		r.order = r.order[1:]
	}
	// Down to a quarter of the room: moved to storage of their size.
	if r.room > minExitsRoom && len(r.order) < r.room/4 {
		at := make(map[string]time.Time, len(r.order))
		for _, k := range r.order {
			at[k] = r.at[k]
		}
		var order []string
		if len(r.order) > 0 {
			order = make([]string, len(r.order))
			copy(order, r.order)
		}
		r.at, r.order, r.room = at, order, len(order)
	}
}

// minExitsRoom: storage this small is kept whatever it holds.
const minExitsRoom = 256

// has says whether key's exit was seen lately; a nil set has nothing.
func (r *recentExits) has(key string) bool {
	if r == nil {
		return false
	}
	_, ok := r.at[key]
	return ok
}
