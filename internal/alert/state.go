package alert

import "sync"

// DefaultMaxTracked bounds the incidents an exporter remembers.
const DefaultMaxTracked = 10000

// State is what an exporter instance has delivered per incident id: it
// drops a second trigger of the same incident (a record replayed after a
// retry or a restart), a repeat or resolve of an incident already
// resolved, and it keeps the payload of every firing incident for
// destinations that must re-post them (Alertmanager). It is bounded:
// resolved incidents are forgotten first, then the oldest firing ones.
type State struct {
	mu       sync.Mutex
	max      int
	entries  map[string]*entry
	resolved []string // resolution order
	firing   []string // first-delivery order
	evicted  int64
}

type entry struct {
	resolved bool
	payload  any
}

// NewState remembers up to maxTracked incidents (DefaultMaxTracked when 0).
func NewState(maxTracked int) *State {
	if maxTracked <= 0 {
		maxTracked = DefaultMaxTracked
	}
	return &State{max: maxTracked, entries: make(map[string]*entry)}
}

// ShouldSend says whether a is news to the destination.
func (s *State) ShouldSend(a *Alert) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries[a.ID]
	switch a.Action {
	case Trigger:
		return e == nil
	default: // Update, Resolve
		return e == nil || !e.resolved
	}
}

// Delivered records that a reached the destination; payload is what to
// re-post while it fires (nil when the destination needs none).
func (s *State) Delivered(a *Alert, payload any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries[a.ID]
	if e == nil {
		for len(s.entries) >= s.max {
			s.evictOne()
		}
		e = &entry{}
		s.entries[a.ID] = e
		if a.Action != Resolve {
			s.firing = append(s.firing, a.ID)
		}
	}
	if a.Action == Resolve {
		if !e.resolved {
			e.resolved, e.payload = true, nil
			s.resolved = append(s.resolved, a.ID)
		}
	} else if !e.resolved {
		e.payload = payload
	}
	if len(s.firing) > 2*s.max {
		s.firing = compact(s.firing, func(id string) bool { e := s.entries[id]; return e != nil && !e.resolved })
	}
}

func (s *State) evictOne() {
	for len(s.resolved) > 0 {
		id := s.resolved[0]
		s.resolved = s.resolved[1:]
		if e := s.entries[id]; e != nil && e.resolved {
			delete(s.entries, id)
			return
		}
	}
	for len(s.firing) > 0 {
		id := s.firing[0]
		s.firing = s.firing[1:]
		if e := s.entries[id]; e != nil && !e.resolved {
			delete(s.entries, id)
			s.evicted++
			return
		}
	}
	for id := range s.entries { // unreachable unless the lists lost track
		delete(s.entries, id)
		return
	}
}

// Active is the payloads of the firing incidents, oldest first.
func (s *State) Active() []any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []any
	for _, id := range s.firing {
		if e := s.entries[id]; e != nil && !e.resolved && e.payload != nil {
			out = append(out, e.payload)
		}
	}
	return out
}

// Firing counts the firing incidents; Evicted counts the firing ones
// forgotten because of the bound.
func (s *State) Firing() (firing int, evicted int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.entries {
		if !e.resolved {
			firing++
		}
	}
	return firing, s.evicted
}

func compact(ids []string, keep func(string) bool) []string {
	out := ids[:0:0]
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if keep(id) && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// Payload is what was last delivered for a firing incident, or nil.
func (s *State) Payload(id string) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.entries[id]; e != nil {
		return e.payload
	}
	return nil
}
