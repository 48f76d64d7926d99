// Package engine keeps the state of every incident rule and decides when an
// incident fires, repeats and resolves. Observations come in as pdata;
// Evaluate, called on a clock, returns the incidents to emit.
//
// Each rule kind lives in its own file (threshold.go, rate.go,
// short_lived.go, trend.go, ratio.go, tree.go, crash_loop.go, oom.go) as a
// checker per subject; this file routes records and points to them,
// store.go bounds their number, subject.go says whom they are about and
// incident.go turns their verdicts into incidents. The engine reads only the telemetry it is given: memory
// limits come from the linnix.cgroup.memory.limit resource attribute and
// the host memory metrics (memory.go).
package engine

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
	"github.com/linnix-os/otelcol-linnix/internal/pdatautil"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/expr"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/rules"
)

// Rule is a validated rule with its compiled where filter.
type Rule struct {
	*rules.Rule
	LogWhere *expr.Log
	DPWhere  *expr.DataPoint
}

// Stats are the engine's own counters.
type Stats struct {
	Tracked   int
	Evictions int64
}

// Engine is safe for concurrent use.
type Engine struct {
	mu         sync.Mutex
	rules      []*ruleState
	store      *store
	mem        *HostMemory
	staleAfter time.Duration
	// exits holds the processes whose exit record was seen lately, when a
	// rule keeps per-process metric states.
	exits *recentExits
}

type ruleState struct {
	*Rule
	kind   kind
	states map[string]*state
}

// New builds an engine for the given (validated) rules.
func New(rs []*Rule, maxTracked int, staleAfter time.Duration) (*Engine, error) {
	e := &Engine{store: newStore(maxTracked), mem: NewHostMemory(), staleAfter: staleAfter}
	for _, r := range rs {
		k, ok := kinds[r.Kind]
		if !ok {
			return nil, fmt.Errorf("rule %q: kind: unknown kind %q", r.Name, r.Kind)
		}
		if p, ok := k.(perRule); ok {
			k = p.forRule()
		}
		e.rules = append(e.rules, &ruleState{Rule: r, kind: k, states: map[string]*state{}})
		if !r.IsLogRule() && r.GroupBy == rules.GroupProcess && e.exits == nil {
			e.exits = newRecentExits(maxRecentExits)
		}
	}
	return e, nil
}

// Stats returns the engine's counters.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return Stats{Tracked: e.store.len(), Evictions: e.store.evictions}
}

// noteExit marks every per-process metric state of an exited process; the
// next evaluation resolves what fired and forgets the rest.
func (e *Engine) noteExit(subj Subject, now time.Time) {
	if e.exits == nil {
		return
	}
	key := processKey(subj)
	e.exits.add(key, now, e.staleAfter)
	for _, r := range e.rules {
		if r.IsLogRule() || r.GroupBy != rules.GroupProcess {
			continue
		}
		if st, ok := r.states[key]; ok {
			st.exited = true
		}
	}
}

// ObserveMetrics feeds data points to the threshold, trend and ratio rules,
// and notes the host memory metrics. A rule's points on one resource are
// summed (a where that keeps both cpu.mode points measures their total);
// the processes of a group are summed too (a rule grouped by container
// measures its processes together), each process once: see groups.
func (e *Engine) ObserveMetrics(ctx context.Context, md pmetric.Metrics, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var g groups
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		rm := md.ResourceMetrics().At(i)
		e.mem.observe(rm, now)
		subj := subjectOf(rm.Resource().Attributes(), pdatautil.Str(rm.Resource().Attributes(), contract.HostName))
		values := map[*ruleState]*sample{} // this resource's value, per rule
		for j := 0; j < rm.ScopeMetrics().Len(); j++ {
			sm := rm.ScopeMetrics().At(j)
			for k := 0; k < sm.Metrics().Len(); k++ {
				m := sm.Metrics().At(k)
				for _, r := range e.rules {
					if r.IsLogRule() || r.Metric != m.Name() {
						continue
					}
					dps := pdatautil.NumberPoints(m)
					for d := 0; d < dps.Len(); d++ {
						dp := dps.At(d)
						if !r.DPWhere.Match(ctx, rm, sm, m, dp) {
							continue
						}
						v := values[r]
						if v == nil {
							v = &sample{}
							values[r] = v
						}
						v.v += pdatautil.PointValue(dp)
						if t := dp.Timestamp().AsTime(); t.After(v.t) {
							v.t = t
						}
					}
				}
			}
		}
		for _, r := range e.rules {
			if v := values[r]; v != nil {
				g.add(r, subj, i, *v)
			}
		}
	}
	for _, ref := range g.order {
		sum, ts, subj := g.total(ref)
		st := e.store.touch(ref.r, ref.key, subj, now)
		if ref.r.GroupBy == rules.GroupProcess && e.exits.has(ref.key) {
			// The process's final sample, taken before its exit and
			// reported after it: judged, then forgotten at once.
			st.exited = true
		}
		v := sum
		if ref.r.PerSecond {
			var ok bool
			if v, ok = st.counter.rate(ts, sum); !ok {
				continue
			}
		}
		st.check.(valueChecker).observe(e.env(st, now), ts, v)
	}
}

// Evaluate decides, for every rule and subject, what to emit at now.
func (e *Engine) Evaluate(now time.Time) []Incident {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.exits.prune(now, e.staleAfter)
	var out []Incident
	for _, r := range e.rules {
		var blamed map[*state]bool
		if b, ok := r.kind.(blamer); ok {
			blamed = b.blame(r, e, now)
		}
		for _, st := range r.states {
			env := e.env(st, now)
			env.blamed = blamed[st]
			if inc := e.evaluate(r, st, env); inc != nil {
				out = append(out, *inc)
			}
		}
	}
	return out
}

func (e *Engine) evaluate(r *ruleState, st *state, env *env) *Incident {
	cond, idle := st.check.evaluate(env)
	if idle && !st.firing {
		e.store.drop(st)
		return nil
	}
	inc := step(r, st, cond, env)
	if !st.firing && st.forgotten(env.now, e.staleAfter) {
		e.store.drop(st)
	}
	return inc
}
