package engine

import (
	"container/list"
	"time"
)

// state is one rule's view of one subject: what its kind's checker keeps,
// plus the incident's progress.
type state struct {
	rule    *ruleState
	key     string
	subject Subject
	elem    *list.Element
	updated time.Time     // wall time of the last observation
	gap     time.Duration // between the last two observations
	exited  bool
	queued  bool // for a judgement as its records arrive (ObserveLogs)

	check   checker
	counter counter // per_second rules only

	firing   bool
	id       string
	started  time.Time
	lastEmit time.Time
}

// store holds every rule's states in one LRU, bounded by max_tracked.
type store struct {
	lru       *list.List // of *state, least recently updated first
	max       int
	evictions int64
}

func newStore(maxTracked int) *store { return &store{lru: list.New(), max: maxTracked} }

// touch finds or creates the state of key under r, keeping the LRU order and
// the max_tracked bound.
func (s *store) touch(r *ruleState, key string, subj Subject, now time.Time) *state {
	st, ok := r.states[key]
	if !ok {
		st = &state{rule: r, key: key, check: r.kind.newChecker(r.Rule.Rule)}
		r.states[key] = st
		st.elem = s.lru.PushBack(st)
		for s.max > 0 && s.lru.Len() > s.max {
			s.drop(s.victim())
			s.evictions++
		}
	} else {
		s.lru.MoveToBack(st.elem)
		st.gap = now.Sub(st.updated)
	}
	st.subject = subj
	st.updated = now
	return st
}

// staleAfter is how long a state may go unobserved: stale_after, or three
// of its source's own intervals when they are longer (the hostmetrics
// scraper collects once a minute by default), so that a slow but steady
// source never loses its windows between two collections.
func (st *state) stale(now time.Time, staleAfter time.Duration) bool {
	return st.exited || now.Sub(st.updated) > max(staleAfter, 3*st.gap)
}

// forgotten: a stale state that is not firing is kept a while longer, so a
// source slower than stale_after (its second observation not yet seen, its
// interval not yet known) keeps its history; an exited process goes at once.
func (st *state) forgotten(now time.Time, staleAfter time.Duration) bool {
	return st.exited || now.Sub(st.updated) > 3*max(staleAfter, 3*st.gap)
}

// victim picks the least recently updated state that is not firing, among
// the oldest few, so that an active incident keeps its state (and later its
// resolve) under pressure; if all of those fire, the oldest goes.
func (s *store) victim() *state {
	const look = 64
	el := s.lru.Front()
	for i := 0; el != nil && i < look; i, el = i+1, el.Next() {
		if st := el.Value.(*state); !st.firing {
			return st
		}
	}
	return s.lru.Front().Value.(*state)
}

func (s *store) drop(st *state) {
	s.lru.Remove(st.elem)
	delete(st.rule.states, st.key)
}

func (s *store) len() int { return s.lru.Len() }
