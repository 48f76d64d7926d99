package engine

import (
	"strconv"
	"time"
)

// groups adds up one batch's values per rule and group. A batch may hold
// two collections of the same process (a relay's retry, a queue or batch
// processor merging requests): a process counts once, with its newest
// value, so a gauge is not doubled and a cumulative counter does not jump.
type groups struct {
	sums  map[groupRef]*groupSum
	order []groupRef // first-seen order, so evaluation is deterministic
}

type groupRef struct {
	r   *ruleState
	key string
}

type groupSum struct {
	subj  Subject
	procs map[string]sample // by process (or resource) identity
}

// add counts the value v of resource number i, whose subject is subj.
func (g *groups) add(r *ruleState, subj Subject, i int, v sample) {
	key, ksubj, ok := groupKey(r.GroupBy, subj, "")
	if !ok {
		return // the subject has no such group
	}
	ref := groupRef{r, key}
	gs := g.sums[ref]
	if gs == nil {
		if g.sums == nil {
			g.sums = map[groupRef]*groupSum{}
		}
		gs = &groupSum{subj: ksubj, procs: map[string]sample{}}
		g.sums[ref] = gs
		g.order = append(g.order, ref)
	}
	// Resources without a pid (not a process) are each their own.
	id := "resource/" + strconv.Itoa(i)
	if subj.PID != 0 {
		id = processKey(subj)
	}
	switch old, seen := gs.procs[id]; {
	case !seen || v.t.After(old.t):
		gs.procs[id] = v
	case v.t.Equal(old.t):
		// The same collection split over two resources: one value.
		gs.procs[id] = sample{t: old.t, v: old.v + v.v}
	}
}

// total is a group's sum, its newest timestamp and its subject.
func (g *groups) total(ref groupRef) (sum float64, ts time.Time, subj Subject) {
	gs := g.sums[ref]
	for _, p := range gs.procs {
		sum += p.v
		if p.t.After(ts) {
			ts = p.t
		}
	}
	return sum, ts, gs.subj
}
