package engine

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/rules"
)

// kind is one rule kind; each lives in its own file.
type kind interface {
	// newChecker returns the kind's view of a new subject of rule r.
	newChecker(r *rules.Rule) checker
}

// A checker is one rule kind's view of one subject. It keeps what the
// kind measures (a value held since some time, a count of events, a series
// of samples), so the engine's state need not know any kind.
type checker interface {
	// evaluate says whether the rule's condition holds at env.now; idle
	// means the checker keeps nothing worth a state (a rate with no event
	// left in its window).
	evaluate(env *env) (cond, idle bool)
	// describe fills the template facts and the evidence from the last
	// evaluation, and returns the rule-based confidence.
	describe(env *env, facts *rules.Facts, evidence map[string]any) float64
}

// valueChecker is the checker of a kind that reads metric data points.
type valueChecker interface {
	checker
	// observe takes the subject's value (its points summed, or their rate
	// of increase for per_second) at ts.
	observe(env *env, ts time.Time, v float64)
}

// eventChecker is the checker of a kind that counts lifecycle records.
type eventChecker interface {
	checker
	observe(ts time.Time)
}

// recordFilter is a lifecycle kind that counts only some of the records of
// its event.
type recordFilter interface {
	accept(r *rules.Rule, attrs pcommon.Map) bool
}

// blamer is a kind that may fire on a subject whose own condition does not
// hold: ratio's host_available_below blames a host's largest process.
type blamer interface {
	blame(r *ruleState, e *Engine, now time.Time) map[*state]bool
}

var kinds = map[rules.Kind]kind{
	rules.KindThreshold:  thresholdKind{},
	rules.KindRate:       rateKind{},
	rules.KindShortLived: shortLivedKind{},
	rules.KindTrend:      trendKind{},
	rules.KindRatio:      ratioKind{},
	rules.KindTree:       &treeKind{},
	rules.KindCrashLoop:  crashLoopKind{},
	rules.KindOOM:        oomKind{},
}

// env is what a checker may consult besides its own observations.
type env struct {
	subject    *Subject
	mem        *HostMemory
	staleAfter time.Duration
	now        time.Time
	// stale: no observation for stale_after, or the process exited.
	stale bool
	// blamed: the rule's kind picked this subject (see blamer).
	blamed bool
}

// env builds a state's env at now.
func (e *Engine) env(st *state, now time.Time) *env {
	return &env{subject: &st.subject, mem: e.mem, staleAfter: e.staleAfter, now: now,
		stale: st.stale(now, e.staleAfter)}
}

// hostMemory returns the subject's host's total and available memory.
func (e *env) hostMemory() (total, avail float64, ok bool) {
	return e.mem.Get(e.subject.Host, e.now, e.staleAfter)
}

// counter turns a cumulative value into its rate of increase per second,
// for per_second rules: the first value only primes it, a decrease is a
// reset (the pair is skipped), and a point no newer than the last is
// ignored.
type counter struct {
	t      time.Time
	v      float64
	primed bool
}

func (c *counter) rate(t time.Time, v float64) (float64, bool) {
	if c.primed && !t.After(c.t) {
		return 0, false
	}
	prev := *c
	*c = counter{t: t, v: v, primed: true}
	if !prev.primed || v < prev.v {
		return 0, false
	}
	return (v - prev.v) / t.Sub(prev.t).Seconds(), true
}

// router is a lifecycle kind that picks a record's subject itself rather
// than by group_by alone: tree (the root of the record's lineage) and
// crash_loop (the executable under its parent).
type router interface {
	route(r *rules.Rule, event string, subj Subject, attrs pcommon.Map) (key string, ksubj Subject, ok bool)
}

// recordChecker is an event checker that reads the record's attributes
// (a lifetime, an exit code) besides its time.
type recordChecker interface {
	checker
	observeRecord(ts time.Time, event string, attrs pcommon.Map)
}

// perRule is a kind with state shared by a rule's subjects (tree's
// lineage): the engine takes one instance per rule.
type perRule interface {
	forRule() kind
}
