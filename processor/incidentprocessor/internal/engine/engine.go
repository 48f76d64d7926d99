// Package engine keeps the state of every incident rule and decides when an
// incident fires, repeats and resolves. Observations come in as pdata;
// Evaluate, called on a clock, returns the incidents to emit.
package engine

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/expr"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/memsource"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/rules"
)

// States of an incident.
const (
	Firing   = "firing"
	Resolved = "resolved"
)

// Subject is what an incident is about.
type Subject struct {
	PID, PPID    int64
	Exe, ExePath string
	Created      string // process.creation.time
	Container    string
	Cgroup       string // process.linux.cgroup
	Host         string
}

// Incident is one emission: a firing (first or repeated) or a resolve.
type Incident struct {
	ID, Rule, Kind, Severity, State string
	Started, At                     time.Time
	Summary                         string
	Actions                         []string
	Subject                         Subject
	Evidence                        map[string]any
	Confidence                      float64
	// Repeat marks a firing re-emitted after the cooldown.
	Repeat bool
}

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
	mem        memsource.Source
	maxTracked int
	staleAfter time.Duration
	lru        *list.List // of *state, least recently updated first
	evictions  int64
}

type ruleState struct {
	*Rule
	states map[string]*state
}

type sample struct {
	t time.Time
	v float64
}

type bucket struct {
	t time.Time // start of the bucket
	n int64
}

// state is one rule's view of one subject.
type state struct {
	rule    *ruleState
	key     string
	subject Subject
	elem    *list.Element
	updated time.Time // wall time of the last observation
	exited  bool

	// threshold and ratio: the latest value and since when the condition held.
	value   float64
	limit   float64
	lastTS  time.Time
	since   time.Time
	holding bool
	// rate and short_lived
	buckets []bucket
	// trend
	samples []sample

	firing   bool
	id       string
	started  time.Time
	lastEmit time.Time
}

// New builds an engine for the given rules.
func New(rs []*Rule, mem memsource.Source, maxTracked int, staleAfter time.Duration) *Engine {
	e := &Engine{mem: mem, maxTracked: maxTracked, staleAfter: staleAfter, lru: list.New()}
	for _, r := range rs {
		e.rules = append(e.rules, &ruleState{Rule: r, states: map[string]*state{}})
	}
	return e
}

// Stats returns the engine's counters.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return Stats{Tracked: e.lru.Len(), Evictions: e.evictions}
}

// touch finds or creates the state of key under r, keeping the LRU order and
// the max_tracked bound.
func (e *Engine) touch(r *ruleState, key string, subj Subject, now time.Time) *state {
	st, ok := r.states[key]
	if !ok {
		st = &state{rule: r, key: key}
		r.states[key] = st
		st.elem = e.lru.PushBack(st)
		for e.maxTracked > 0 && e.lru.Len() > e.maxTracked {
			e.drop(e.victim())
			e.evictions++
		}
	} else {
		e.lru.MoveToBack(st.elem)
	}
	st.subject = subj
	st.updated = now
	return st
}

// victim picks the least recently updated state that is not firing, among
// the oldest few, so that an active incident keeps its state (and later its
// resolve) under pressure; if all of those fire, the oldest goes.
func (e *Engine) victim() *state {
	const look = 64
	el := e.lru.Front()
	for i := 0; el != nil && i < look; i, el = i+1, el.Next() {
		if st := el.Value.(*state); !st.firing {
			return st
		}
	}
	return e.lru.Front().Value.(*state)
}

func (e *Engine) drop(st *state) {
	e.lru.Remove(st.elem)
	delete(st.rule.states, st.key)
}

// ObserveLogs feeds lifecycle records to the rate and short_lived rules and
// notes exits, after which a process's metric state is dropped.
func (e *Engine) ObserveLogs(ctx context.Context, ld plog.Logs, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		rl := ld.ResourceLogs().At(i)
		host := str(rl.Resource().Attributes(), "host.name")
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			sl := rl.ScopeLogs().At(j)
			for k := 0; k < sl.LogRecords().Len(); k++ {
				lr := sl.LogRecords().At(k)
				event, ok := lifecycleEvent(lr.EventName())
				if !ok {
					continue
				}
				attrs := lr.Attributes()
				if _, thread := attrs.Get("thread.id"); thread {
					continue // a thread, not a process (include_threads)
				}
				subj := subjectOf(attrs, host)
				ts := lr.Timestamp().AsTime()
				if event == "exit" {
					e.noteExit(subj)
				}
				for _, r := range e.rules {
					if !r.IsLogRule() || r.Event != event {
						continue
					}
					if r.Kind == rules.KindShortLived {
						life, ok := attrs.Get("linnix.process.lifetime")
						if !ok || life.Double() >= r.MaxLifetime.Seconds() {
							continue
						}
					}
					if !r.LogWhere.Match(ctx, rl, sl, lr) {
						continue
					}
					key, ksubj, ok := groupKey(r.GroupBy, subj, event)
					if !ok {
						continue
					}
					st := e.touch(r, key, ksubj, now)
					st.add(ts, bucketWidth(r.Window))
				}
			}
		}
	}
}

// noteExit marks every per-process metric state of an exited process; the
// next evaluation resolves what fired and forgets the rest.
func (e *Engine) noteExit(subj Subject) {
	key := processKey(subj)
	for _, r := range e.rules {
		if r.IsLogRule() || r.GroupBy != rules.GroupProcess {
			continue
		}
		if st, ok := r.states[key]; ok {
			st.exited = true
		}
	}
}

// ObserveMetrics feeds data points to the threshold, trend and ratio rules.
// Points of one rule and group in one batch are summed: a where that keeps
// both cpu.mode points measures their total, and a rule grouped by
// container measures the container's processes together.
func (e *Engine) ObserveMetrics(ctx context.Context, md pmetric.Metrics, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	type acc struct {
		sum  float64
		ts   time.Time
		subj Subject
	}
	type groupRef struct {
		r   *ruleState
		key string
	}
	sums := map[groupRef]*acc{}
	var order []groupRef // first-seen order, so evaluation is deterministic
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		rm := md.ResourceMetrics().At(i)
		subj := subjectOf(rm.Resource().Attributes(), str(rm.Resource().Attributes(), "host.name"))
		keys := map[*ruleState]*acc{} // this resource's group, per rule
		for j := 0; j < rm.ScopeMetrics().Len(); j++ {
			sm := rm.ScopeMetrics().At(j)
			for k := 0; k < sm.Metrics().Len(); k++ {
				m := sm.Metrics().At(k)
				for _, r := range e.rules {
					if r.IsLogRule() || r.Metric != m.Name() {
						continue
					}
					dps := numberPoints(m)
					for d := 0; d < dps.Len(); d++ {
						dp := dps.At(d)
						if !r.DPWhere.Match(ctx, rm, sm, m, dp) {
							continue
						}
						a, seen := keys[r]
						if !seen {
							key, ksubj, ok := groupKey(r.GroupBy, subj, "")
							if ok {
								ref := groupRef{r, key}
								if a = sums[ref]; a == nil {
									a = &acc{subj: ksubj}
									sums[ref] = a
									order = append(order, ref)
								}
							}
							keys[r] = a
						}
						if a == nil {
							continue // the subject has no such group
						}
						a.sum += value(dp)
						if t := dp.Timestamp().AsTime(); t.After(a.ts) {
							a.ts = t
						}
					}
				}
			}
		}
	}
	for _, ref := range order {
		a := sums[ref]
		st := e.touch(ref.r, ref.key, a.subj, now)
		e.observeValue(ref.r, st, a.ts, a.sum)
	}
}

func (e *Engine) observeValue(r *ruleState, st *state, ts time.Time, v float64) {
	switch r.Kind {
	case rules.KindThreshold:
		st.hold(ts, v, r.Compare(v))
	case rules.KindRatio:
		limit, ok := e.limitFor(r, st.subject)
		if !ok {
			// No limit to compare with: keep the raw value, which the
			// host-wide trigger still ranks by.
			st.hold(ts, v, false)
			st.limit = 0
			return
		}
		st.hold(ts, v/limit, r.Compare(v/limit))
		st.limit = limit
	case rules.KindTrend:
		st.samples = append(st.samples, sample{t: ts, v: v})
		st.trimSamples(ts.Add(-r.Window - r.Window/10))
	}
}

func (st *state) hold(ts time.Time, v float64, cond bool) {
	st.value, st.lastTS = v, ts
	if !cond {
		st.holding = false
		return
	}
	if !st.holding {
		st.holding, st.since = true, ts
	}
}

// maxSamples bounds a trend's memory: beyond it every other sample is
// dropped, halving the resolution rather than the window.
const maxSamples = 512

func (st *state) trimSamples(cutoff time.Time) {
	i := 0
	for i < len(st.samples) && st.samples[i].t.Before(cutoff) {
		i++
	}
	st.samples = st.samples[i:]
	if len(st.samples) > maxSamples {
		half := st.samples[:0:0]
		for j := 0; j < len(st.samples); j += 2 {
			half = append(half, st.samples[j])
		}
		st.samples = half
	}
}

// bucketWidth splits a window into about 50 buckets, at least 100ms wide.
func bucketWidth(window time.Duration) time.Duration {
	return max(window/50, 100*time.Millisecond)
}

func (st *state) add(ts time.Time, width time.Duration) {
	b := ts.Truncate(width)
	for i := len(st.buckets) - 1; i >= 0 && i >= len(st.buckets)-3; i-- {
		if st.buckets[i].t.Equal(b) {
			st.buckets[i].n++
			return
		}
	}
	st.buckets = append(st.buckets, bucket{t: b, n: 1})
}

// count sums the buckets in (now-window, now] and forgets older ones.
func (st *state) count(now time.Time, window time.Duration) int64 {
	cutoff := now.Add(-window)
	i := 0
	for i < len(st.buckets) && !st.buckets[i].t.After(cutoff) {
		i++
	}
	st.buckets = st.buckets[i:]
	var n int64
	for _, b := range st.buckets {
		if !b.t.After(now) {
			n += b.n
		}
	}
	return n
}

func (e *Engine) limitFor(r *ruleState, s Subject) (float64, bool) {
	if r.Of == rules.OfCgroupMemoryLimit {
		if s.Cgroup == "" {
			return 0, false
		}
		return e.mem.CgroupLimit(s.Cgroup)
	}
	total, _, ok := e.mem.Host()
	return total, ok
}

// Evaluate decides, for every rule and subject, what to emit at now.
func (e *Engine) Evaluate(now time.Time) []Incident {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Incident
	for _, r := range e.rules {
		var hostLow *state
		if r.Kind == rules.KindRatio && r.HostAvailableBelow > 0 {
			hostLow = e.largestIfHostLow(r, now)
		}
		for _, st := range r.states {
			if inc := e.evaluate(r, st, now, st == hostLow); inc != nil {
				out = append(out, *inc)
			}
		}
	}
	return out
}

// largestIfHostLow returns the subject with the largest value of a ratio
// rule when the host's available memory is below the rule's share.
func (e *Engine) largestIfHostLow(r *ruleState, now time.Time) *state {
	total, avail, ok := e.mem.Host()
	if !ok || total <= 0 || avail/total >= r.HostAvailableBelow {
		return nil
	}
	var best *state
	for _, st := range r.states {
		if st.exited || now.Sub(st.updated) > e.staleAfter {
			continue
		}
		if best == nil || st.rawValue() > best.rawValue() {
			best = st
		}
	}
	return best
}

func (st *state) rawValue() float64 {
	if st.limit > 0 {
		return st.value * st.limit
	}
	return st.value
}

// measure is what one evaluation found; details are built from it only
// when an incident is emitted.
type measure struct {
	stale, hostLow bool
	count          int64
	fit            trendFit
	fitOK          bool
}

func (e *Engine) evaluate(r *ruleState, st *state, now time.Time, hostLow bool) *Incident {
	m := measure{stale: st.exited || now.Sub(st.updated) > e.staleAfter}
	var cond bool
	switch r.Kind {
	case rules.KindThreshold, rules.KindRatio:
		cond = !m.stale && st.holding && st.lastTS.Sub(st.since) >= r.For
		if r.Kind == rules.KindRatio && hostLow && !m.stale {
			cond, m.hostLow = true, true
		}
	case rules.KindRate, rules.KindShortLived:
		m.count = st.count(now, r.Window)
		cond = float64(m.count) >= r.Threshold()
		if m.count == 0 && !st.firing {
			e.drop(st)
			return nil
		}
	case rules.KindTrend:
		m.fit, m.fitOK = fitTrend(st.samples)
		cond = !m.stale && m.fitOK && m.fit.span >= r.Window*49/50 && m.fit.slope*60 >= r.MinSlopePerMinute &&
			m.fit.r2 >= r.MinR2 && m.fit.growth >= r.MinGrowth
	}
	inc := e.step(r, st, cond, now, m)
	if m.stale && !st.firing {
		e.drop(st)
	}
	return inc
}

// describe turns a measure into the facts for the templates, the evidence
// attribute and a rule-based confidence.
func (e *Engine) describe(r *ruleState, st *state, m measure) (rules.Facts, map[string]any, float64) {
	facts := rules.Facts{
		Rule: r.Name, Kind: r.Kind, Key: st.key, Exe: st.subject.Exe, PID: st.subject.PID, PPID: st.subject.PPID,
		Container: st.subject.Container, Host: st.subject.Host, Window: r.Window, For: r.For,
	}
	evidence := map[string]any{}
	confidence := 1.0
	switch r.Kind {
	case rules.KindThreshold, rules.KindRatio:
		facts.Value = st.value
		evidence[r.Metric] = st.value
		evidence["threshold"] = r.Value
		evidence["operator"] = r.Op
		if r.For > 0 {
			evidence["for_seconds"] = r.For.Seconds()
		}
		if st.holding {
			evidence["held_seconds"] = st.lastTS.Sub(st.since).Seconds()
		}
		confidence = exceedance(st.value, r.Value)
		if r.Kind == rules.KindRatio {
			facts.Limit, facts.LimitName = st.limit, limitName(r.Of)
			evidence["limit_bytes"] = st.limit
			if m.hostLow {
				total, avail, _ := e.mem.Host()
				facts.Limit, facts.LimitName = total, "the host's memory"
				facts.Value = st.rawValue() / total
				evidence["host_memory_available_ratio"] = avail / total
				evidence["host_memory_total_bytes"] = total
				confidence = 1 - (avail/total)/r.HostAvailableBelow*0.5
			}
		}
	case rules.KindRate, rules.KindShortLived:
		facts.Count, facts.Rate = m.count, float64(m.count)/r.Window.Seconds()
		evidence["count"] = m.count
		evidence["window_seconds"] = r.Window.Seconds()
		evidence["rate_per_second"] = facts.Rate
		evidence["threshold_count"] = r.Threshold()
		if r.Kind == rules.KindShortLived {
			evidence["max_lifetime_seconds"] = r.MaxLifetime.Seconds()
		}
		confidence = exceedance(float64(m.count), r.Threshold())
	case rules.KindTrend:
		fit := m.fit
		slopeMin := fit.slope * 60
		facts.Slope, facts.Growth, facts.R2, facts.Window = slopeMin, fit.growth, fit.r2, fit.span
		facts.Value = fit.last
		evidence[r.Metric] = fit.last
		evidence["slope_per_minute"] = slopeMin
		evidence["growth"] = fit.growth
		evidence["r2"] = fit.r2
		evidence["window_seconds"] = fit.span.Seconds()
		evidence["samples"] = len(st.samples)
		if limit, name, eta, ok := e.projection(st.subject, fit); ok {
			facts.Limit, facts.LimitName, facts.ETA = limit, name, eta
			evidence["limit_bytes"] = limit
			evidence["eta_seconds"] = eta.Seconds()
		}
		confidence = fit.r2
	}
	return facts, evidence, confidence
}

// step moves one subject's incident through firing, repeats and resolve.
func (e *Engine) step(r *ruleState, st *state, cond bool, now time.Time, m measure) *Incident {
	switch {
	case cond && !st.firing:
		st.firing, st.started, st.lastEmit = true, now, now
		st.id = incidentID(r.Name, st.key, now)
		return e.incident(r, st, Firing, now, m, false)
	case cond && now.Sub(st.lastEmit) >= r.Cooldown:
		st.lastEmit = now
		return e.incident(r, st, Firing, now, m, true)
	case !cond && st.firing:
		st.firing = false
		return e.incident(r, st, Resolved, now, m, false)
	}
	return nil
}

func (e *Engine) incident(r *ruleState, st *state, state string, now time.Time, m measure, repeat bool) *Incident {
	facts, evidence, confidence := e.describe(r, st, m)
	summary, actions, err := r.Render(facts)
	if err != nil {
		summary = fmt.Sprintf("%s on %s (summary template failed: %v)", r.Name, st.key, err)
	}
	if state == Resolved {
		summary = "resolved: " + summary
	}
	return &Incident{
		ID: st.id, Rule: r.Name, Kind: r.Kind, Severity: r.Severity, State: state,
		Started: st.started, At: now, Summary: summary, Actions: actions, Subject: st.subject,
		Evidence: evidence, Confidence: math.Max(0, math.Min(1, confidence)), Repeat: repeat,
	}
}

// projection estimates when a growing process reaches its cgroup's memory
// limit, or exhausts the host's available memory.
func (e *Engine) projection(s Subject, fit trendFit) (limit float64, name string, eta time.Duration, ok bool) {
	if fit.slope <= 0 {
		return 0, "", 0, false
	}
	if s.Cgroup != "" {
		if l, ok := e.mem.CgroupLimit(s.Cgroup); ok && l > fit.last {
			return l, limitName(rules.OfCgroupMemoryLimit), time.Duration((l - fit.last) / fit.slope * float64(time.Second)), true
		}
	}
	total, avail, ok := e.mem.Host()
	if !ok {
		return 0, "", 0, false
	}
	return total, limitName(rules.OfHostMemory), time.Duration(avail / fit.slope * float64(time.Second)), true
}

func limitName(of string) string {
	if of == rules.OfCgroupMemoryLimit {
		return "its cgroup memory limit"
	}
	return "the host's memory"
}

// exceedance grows from 0.7 at the threshold to 1 at 10% beyond it.
func exceedance(v, threshold float64) float64 {
	if threshold == 0 {
		return 1
	}
	return 0.7 + 0.3*math.Min(1, math.Abs(v-threshold)/math.Abs(threshold)*10)
}

// incidentID is stable for one incident: the same for its firings, repeats
// and resolve, different for the next incident of the same subject.
func incidentID(rule, key string, started time.Time) string {
	h := sha256.Sum256([]byte(rule + "\x00" + key + "\x00" + strconv.FormatInt(started.UnixNano(), 10)))
	return hex.EncodeToString(h[:8])
}

func lifecycleEvent(name string) (string, bool) {
	switch name {
	case "linnix.process.fork":
		return "fork", true
	case "linnix.process.exec":
		return "exec", true
	case "linnix.process.exit":
		return "exit", true
	}
	return "", false
}

func subjectOf(attrs pcommon.Map, host string) Subject {
	return Subject{
		PID:       num(attrs, "process.pid"),
		PPID:      num(attrs, "process.parent_pid"),
		Exe:       str(attrs, "process.executable.name"),
		ExePath:   str(attrs, "process.executable.path"),
		Created:   str(attrs, "process.creation.time"),
		Container: str(attrs, "container.id"),
		Cgroup:    str(attrs, "process.linux.cgroup"),
		Host:      host,
	}
}

func processKey(s Subject) string {
	return "process/" + strconv.FormatInt(s.PID, 10) + "@" + s.Created
}

// groupKey maps a subject to the key of its group. For a fork record the
// parent is the forking process; its executable is the child's (a forked
// child runs its parent's image).
func groupKey(group string, s Subject, event string) (string, Subject, bool) {
	switch group {
	case rules.GroupProcess:
		if s.PID == 0 {
			return "", s, false
		}
		return processKey(s), s, true
	case rules.GroupParent:
		if s.PPID == 0 {
			return "", s, false
		}
		parent := Subject{PID: s.PPID, Exe: s.Exe, Container: s.Container, Host: s.Host}
		if event != "fork" {
			parent.Exe = ""
		}
		return "parent/" + strconv.FormatInt(s.PPID, 10), parent, true
	case rules.GroupExecutable:
		if s.Exe == "" {
			return "", s, false
		}
		return "executable/" + s.Exe, Subject{Exe: s.Exe, ExePath: s.ExePath, Host: s.Host}, true
	case rules.GroupContainer:
		if s.Container == "" {
			return "", s, false
		}
		return "container/" + s.Container, Subject{Container: s.Container, Host: s.Host}, true
	default:
		return "host/" + s.Host, Subject{Host: s.Host}, true
	}
}

func str(m pcommon.Map, k string) string {
	if v, ok := m.Get(k); ok {
		return v.AsString()
	}
	return ""
}

func num(m pcommon.Map, k string) int64 {
	v, ok := m.Get(k)
	if !ok {
		return 0
	}
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v.Int()
	case pcommon.ValueTypeDouble:
		return int64(v.Double())
	case pcommon.ValueTypeStr:
		n, _ := strconv.ParseInt(v.Str(), 10, 64)
		return n
	}
	return 0
}

func numberPoints(m pmetric.Metric) pmetric.NumberDataPointSlice {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return m.Gauge().DataPoints()
	case pmetric.MetricTypeSum:
		return m.Sum().DataPoints()
	}
	return pmetric.NewNumberDataPointSlice()
}

func value(dp pmetric.NumberDataPoint) float64 {
	if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
		return float64(dp.IntValue())
	}
	return dp.DoubleValue()
}
