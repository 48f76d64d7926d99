package engine

import (
	"math"
	"time"

	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/rules"
)

// thresholdKind fires when a subject's value has met the rule's comparison
// for the rule's `for`.
type thresholdKind struct{}

func (thresholdKind) newChecker(r *rules.Rule) checker { return &threshold{holding: holding{r: r}} }

type threshold struct{ holding }

func (t *threshold) observe(_ *env, ts time.Time, v float64) { t.hold(ts, v, t.r.Compare(v)) }

func (t *threshold) evaluate(env *env) (bool, bool) { return !env.stale && t.held(), false }

func (t *threshold) describe(env *env, f *rules.Facts, ev map[string]any) float64 {
	if limit := env.subject.CPULimit; limit > 0 {
		ev["cpu_limit_cores"] = limit
	}
	return t.holding.describe(f, ev)
}

// holding is the latest value and since when the comparison has held, by
// the points' own timestamps; threshold and ratio share it.
type holding struct {
	r       *rules.Rule
	value   float64
	lastTS  time.Time
	since   time.Time
	holding bool
}

func (h *holding) hold(ts time.Time, v float64, cond bool) {
	h.value, h.lastTS = v, ts
	if !cond {
		h.holding = false
		return
	}
	if !h.holding {
		h.holding, h.since = true, ts
	}
}

// held says whether the comparison has held for the rule's `for`.
func (h *holding) held() bool { return h.holding && h.lastTS.Sub(h.since) >= h.r.For }

func (h *holding) describe(f *rules.Facts, ev map[string]any) float64 {
	r := h.r
	f.Value = h.value
	ev[r.Metric] = h.value
	ev["threshold"] = r.Value
	ev["operator"] = r.Op
	if r.For > 0 {
		ev["for_seconds"] = r.For.Seconds()
	}
	if h.holding {
		ev["held_seconds"] = h.lastTS.Sub(h.since).Seconds()
	}
	return exceedance(h.value, r.Value)
}

// exceedance grows from 0.7 at the threshold to 1 at 10% beyond it: a value
// just over the line is likelier noise than one well past it.
func exceedance(v, threshold float64) float64 {
	if threshold == 0 {
		return 1
	}
	return 0.7 + 0.3*math.Min(1, math.Abs(v-threshold)/math.Abs(threshold)*10)
}
