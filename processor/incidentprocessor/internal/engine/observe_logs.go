package engine

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
	"github.com/linnix-os/otelcol-linnix/internal/pdatautil"
)

// ObserveLogs feeds lifecycle records to the lifecycle rules and notes
// exits, after which a process's metric state is dropped. It returns the
// incidents that fire at once: a rate rule's fire window is judged as its
// records arrive, not at the next evaluation, so that a storm is reported
// within its fire window of starting.
func (e *Engine) ObserveLogs(ctx context.Context, ld plog.Logs, now time.Time) []Incident {
	e.mu.Lock()
	defer e.mu.Unlock()
	var urgent []*state
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		rl := ld.ResourceLogs().At(i)
		host := pdatautil.Str(rl.Resource().Attributes(), contract.HostName)
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			sl := rl.ScopeLogs().At(j)
			for k := 0; k < sl.LogRecords().Len(); k++ {
				lr := sl.LogRecords().At(k)
				event, ok := lifecycleEvent(lr.EventName())
				if !ok {
					continue
				}
				attrs := lr.Attributes()
				if _, thread := attrs.Get(contract.ThreadID); thread {
					continue // a thread, not a process (include_threads)
				}
				subj := subjectOf(attrs, host)
				if event == "exit" {
					e.noteExit(subj, now)
				}
				for _, r := range e.rules {
					if !r.IsLogRule() || !r.Reads(event) {
						continue
					}
					if f, ok := r.kind.(recordFilter); ok && !f.accept(r.Rule.Rule, attrs) {
						continue
					}
					if !r.LogWhere.Match(ctx, rl, sl, lr) {
						continue
					}
					key, ksubj, ok := routeKey(r, subj, event, attrs)
					if !ok {
						continue
					}
					st := e.store.touch(r, key, ksubj, now)
					ts := lr.Timestamp().AsTime()
					if rc, ok := st.check.(recordChecker); ok {
						rc.observeRecord(ts, event, attrs)
					} else {
						st.check.(eventChecker).observe(ts)
					}
					if u, ok := st.check.(urgentChecker); ok && u.urgent() && !st.firing && !st.queued {
						st.queued = true
						urgent = append(urgent, st)
					}
				}
			}
		}
	}
	var out []Incident
	for _, st := range urgent {
		st.queued = false
		// Only a firing: repeats and resolves keep to the evaluation
		// clock. A state evicted meanwhile is not judged.
		if st.firing || st.rule.states[st.key] != st {
			continue
		}
		if inc := e.evaluate(st.rule, st, e.env(st, now)); inc != nil {
			out = append(out, *inc)
		}
	}
	return out
}

// urgentChecker is a checker that may fire as its records arrive.
type urgentChecker interface {
	urgent() bool
}

// routeKey is the subject of a record under r: the kind's own choice for a
// router (tree, crash_loop), else the rule's group_by.
func routeKey(r *ruleState, subj Subject, event string, attrs pcommon.Map) (string, Subject, bool) {
	if rt, ok := r.kind.(router); ok {
		return rt.route(r.Rule.Rule, event, subj, attrs)
	}
	return groupKey(r.GroupBy, subj, event)
}
