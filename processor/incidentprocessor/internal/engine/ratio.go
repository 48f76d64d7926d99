package engine

import (
	"time"

	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/rules"
)

// ratioKind compares a value with a memory limit: the subject's cgroup
// memory limit (the linnix.cgroup.memory.limit resource attribute) or its
// host's total memory (the system.memory.limit metric). With
// host_available_below it also fires, on the host's largest subject, when
// the host's available memory runs low, whatever that subject's limit.
type ratioKind struct{}

func (ratioKind) newChecker(r *rules.Rule) checker { return &ratio{holding: holding{r: r}} }

type ratio struct {
	holding
	limit   float64 // 0 when the subject has no limit to compare with
	hostLow bool    // the last evaluation fired for the host's low memory
}

func (c *ratio) observe(env *env, ts time.Time, v float64) {
	limit, ok := c.limitFor(env)
	if !ok {
		// No limit to compare with: keep the raw value, which the
		// host-wide trigger still ranks by.
		c.hold(ts, v, false)
		c.limit = 0
		return
	}
	c.hold(ts, v/limit, c.r.Compare(v/limit))
	c.limit = limit
}

func (c *ratio) limitFor(env *env) (float64, bool) {
	if c.r.Of == rules.OfCgroupMemoryLimit {
		return env.subject.CgroupLimit, env.subject.CgroupLimit > 0
	}
	total, _, ok := env.hostMemory()
	return total, ok && total > 0
}

// rawValue is the value before division by the limit.
func (c *ratio) rawValue() float64 {
	if c.limit > 0 {
		return c.value * c.limit
	}
	return c.value
}

func (c *ratio) evaluate(env *env) (bool, bool) {
	c.hostLow = env.blamed && !env.stale
	return c.hostLow || !env.stale && c.held(), false
}

func (c *ratio) describe(env *env, f *rules.Facts, ev map[string]any) float64 {
	confidence := c.holding.describe(f, ev)
	f.Limit, f.LimitName = c.limit, limitName(c.r.Of)
	ev["limit_bytes"] = c.limit
	if total, avail, ok := env.hostMemory(); c.hostLow && ok {
		f.Limit, f.LimitName = total, limitName(rules.OfHostMemory)
		f.Value = c.rawValue() / total
		ev["host_memory_available_ratio"] = avail / total
		ev["host_memory_total_bytes"] = total
		confidence = 1 - (avail/total)/c.r.HostAvailableBelow*0.5
	}
	return confidence
}

// blame returns, for each host whose available memory is below the rule's
// share of its total, the subject with the largest value.
func (ratioKind) blame(r *ruleState, e *Engine, now time.Time) map[*state]bool {
	if r.HostAvailableBelow <= 0 {
		return nil
	}
	largest := map[string]*state{}
	for _, st := range r.states {
		if st.stale(now, e.staleAfter) {
			continue
		}
		host := st.subject.Host
		if best := largest[host]; best == nil || st.check.(*ratio).rawValue() > best.check.(*ratio).rawValue() {
			largest[host] = st
		}
	}
	var out map[*state]bool
	for host, st := range largest {
		total, avail, ok := e.mem.Get(host, now, e.staleAfter)
		if !ok || avail/total >= r.HostAvailableBelow {
			continue
		}
		if out == nil {
			out = map[*state]bool{}
		}
		out[st] = true
	}
	return out
}

func limitName(of string) string {
	if of == rules.OfCgroupMemoryLimit {
		return "its cgroup memory limit"
	}
	return "the host's memory"
}
