package engine

import (
	"time"

	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/rules"
)

// trendKind fits a line through a subject's samples over the window and
// fires on a steady climb: slope, goodness of fit and total growth all
// above the rule's minimums. A memory leak grows this way; a cache that
// fills and plateaus, or a noisy series, does not.
type trendKind struct{}

func (trendKind) newChecker(r *rules.Rule) checker { return &trend{r: r} }

type trend struct {
	r       *rules.Rule
	samples []sample
	fit     trendFit // at the last evaluation
	fitOK   bool
}

type sample struct {
	t time.Time
	v float64
}

// maxSamples bounds a trend's memory: beyond it every other sample is
// dropped, halving the resolution rather than the window.
const maxSamples = 512

func (c *trend) observe(_ *env, ts time.Time, v float64) {
	c.samples = append(c.samples, sample{t: ts, v: v})
	// A tenth of the window more than the window, so that the samples
	// still span it when evaluation and collection are out of step.
	cutoff := ts.Add(-c.r.Window - c.r.Window/10)
	i := 0
	for i < len(c.samples) && c.samples[i].t.Before(cutoff) {
		i++
	}
	c.samples = c.samples[i:]
	if len(c.samples) > maxSamples {
		half := c.samples[:0:0]
		for j := 0; j < len(c.samples); j += 2 {
			half = append(half, c.samples[j])
		}
		c.samples = half
	}
}

func (c *trend) evaluate(env *env) (bool, bool) {
	c.fit, c.fitOK = fitTrend(c.samples)
	r, fit := c.r, c.fit
	// The samples must span the window (less one collection interval's
	// slack), or a short burst would pass for a trend.
	return !env.stale && c.fitOK && fit.span >= r.Window*49/50 && fit.slope*60 >= r.MinSlopePerMinute &&
		fit.r2 >= r.MinR2 && fit.growth >= r.MinGrowth, false
}

func (c *trend) describe(env *env, f *rules.Facts, ev map[string]any) float64 {
	fit := c.fit
	slopeMin := fit.slope * 60
	f.Slope, f.Growth, f.R2, f.Window = slopeMin, fit.growth, fit.r2, fit.span
	f.Value = fit.last
	ev[c.r.Metric] = fit.last
	ev["slope_per_minute"] = slopeMin
	ev["growth"] = fit.growth
	ev["r2"] = fit.r2
	ev["window_seconds"] = fit.span.Seconds()
	ev["samples"] = len(c.samples)
	if limit, name, eta, ok := projection(env, fit); ok {
		f.Limit, f.LimitName, f.ETA = limit, name, eta
		ev["limit_bytes"] = limit
		ev["eta_seconds"] = eta.Seconds()
	}
	return fit.r2
}

// projection estimates when a growing process reaches its cgroup's memory
// limit, or else exhausts its host's available memory.
func projection(env *env, fit trendFit) (limit float64, name string, eta time.Duration, ok bool) {
	if fit.slope <= 0 {
		return 0, "", 0, false
	}
	if l := env.subject.CgroupLimit; l > fit.last {
		return l, limitName(rules.OfCgroupMemoryLimit), time.Duration((l - fit.last) / fit.slope * float64(time.Second)), true
	}
	total, avail, ok := env.hostMemory()
	if !ok {
		return 0, "", 0, false
	}
	return total, limitName(rules.OfHostMemory), time.Duration(avail / fit.slope * float64(time.Second)), true
}

// trendFit is a least-squares line through a series of samples.
type trendFit struct {
	slope  float64 // units per second
	r2     float64 // goodness of fit, 0..1
	growth float64 // slope × span: what the line grew over the samples
	last   float64 // the latest sample
	span   time.Duration
}

// fitTrend fits value = a + slope·t. It needs at least 3 samples spread in
// time; a flat series has r2 0 (no trend explained).
func fitTrend(s []sample) (trendFit, bool) {
	n := float64(len(s))
	if len(s) < 3 {
		return trendFit{}, false
	}
	t0 := s[0].t
	var sx, sy, sxx, sxy, syy float64
	for _, p := range s {
		x := p.t.Sub(t0).Seconds()
		sx += x
		sy += p.v
		sxx += x * x
		sxy += x * p.v
		syy += p.v * p.v
	}
	vx := sxx - sx*sx/n
	if vx <= 0 {
		return trendFit{}, false
	}
	slope := (sxy - sx*sy/n) / vx
	vy := syy - sy*sy/n
	r2 := 0.0
	if vy > 0 {
		cov := sxy - sx*sy/n
		r2 = cov * cov / (vx * vy)
	}
	span := s[len(s)-1].t.Sub(t0)
	return trendFit{slope: slope, r2: r2, growth: slope * span.Seconds(), last: s[len(s)-1].v, span: span}, true
}
