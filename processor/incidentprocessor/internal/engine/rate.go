package engine

import (
	"time"

	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/rules"
)

// rateKind counts a subject's lifecycle records of one event in a sliding
// window, and fires when the count reaches min_count (or min_rate × window).
// A rule with min_rate also fires as soon as the rate over its shorter
// fire_window reaches min_rate, on at least min_sustain of that sub-window:
// a storm is reported within a second of its start, not when its window
// has filled, while a burst of a few hundred forks in a tenth of a second
// (a parallel build's fan-out) is not read as one.
type rateKind struct{}

// bucketWidth splits a window into about 50 buckets, at least 100ms wide.
func bucketWidth(window time.Duration) time.Duration {
	return max(window/50, 100*time.Millisecond)
}

func (rateKind) newChecker(r *rules.Rule) checker {
	c := &rate{r: r, window: series{width: bucketWidth(r.Window), span: r.Window}}
	if r.MinRate > 0 && r.FireWindow > 0 {
		// Tenths of the fire window, for min_sustain.
		c.fire = &series{width: max(r.FireWindow/10, time.Millisecond), span: r.FireWindow}
	}
	return c
}

// rate counts in buckets about a fiftieth of the window wide, so that a
// storm of 100,000 forks costs 50 buckets, not 100,000 timestamps; the
// fire window has its own, finer buckets (tenths).
type rate struct {
	r      *rules.Rule
	window series
	fire   *series   // nil without a fire window
	last   time.Time // the newest record's timestamp

	// At the last evaluation:
	count       int64   // records in the window
	sum         float64 // of the records' values (short_lived: lifetimes)
	fireCount   int64   // records in the fire window
	fireSustain float64 // share of the fire window's tenths holding one
	fireSpan    time.Duration
}

func (c *rate) observe(ts time.Time) { c.add(ts, 0) }

// add counts one record at ts carrying value v.
func (c *rate) add(ts time.Time, v float64) {
	c.window.add(ts, v)
	if c.fire != nil {
		c.fire.add(ts, v)
	}
	if ts.After(c.last) {
		c.last = ts
	}
}

// urgent marks a checker worth evaluating as soon as its records arrive,
// not only on the evaluation clock: a rate with a fire window.
func (c *rate) urgent() bool { return c.fire != nil }

func (c *rate) evaluate(env *env) (bool, bool) {
	c.count, c.sum = c.window.total(env.now)
	cond := float64(c.count) >= c.r.Threshold()
	if c.fire != nil {
		// The fire window ends at the newest record when it is ahead of
		// the clock (a record stamped a little after its batch arrived).
		end := env.now
		if c.last.After(end) {
			end = c.last
		}
		c.fireCount, _ = c.fire.total(end)
		c.fireSustain = c.fire.sustain(end)
		c.fireSpan = c.fire.covered(end)
		if c.fastCond() {
			cond = true
		}
	}
	return cond, c.count == 0 && c.fireCount == 0
}

// fastCond: the fire window holds min_rate × fire_window records, spread
// over at least min_sustain of it.
func (c *rate) fastCond() bool {
	return float64(c.fireCount) >= c.fireThreshold() && c.fireSustain >= c.r.MinSustain
}

func (c *rate) fireThreshold() float64 { return c.r.MinRate * c.r.FireWindow.Seconds() }

func (c *rate) describe(_ *env, f *rules.Facts, ev map[string]any) float64 {
	f.Count, f.Rate = c.count, float64(c.count)/c.r.Window.Seconds()
	f.FireRate = f.Rate
	ev["count"] = c.count
	ev["window_seconds"] = c.r.Window.Seconds()
	ev["rate_per_second"] = f.Rate
	ev["threshold_count"] = c.r.Threshold()
	confidence := exceedance(float64(c.count), c.r.Threshold())
	if c.fire != nil {
		// Per second of the fire window that the records cover: a storm
		// 0.7 s old reads at its rate, not at 70% of it.
		f.FireRate = float64(c.fireCount) / c.fireSpan.Seconds()
		ev["fire_window_seconds"] = c.r.FireWindow.Seconds()
		ev["fire_window_count"] = c.fireCount
		ev["fire_window_rate_per_second"] = f.FireRate
		ev["fire_window_sustained"] = c.fireSustain
		ev["threshold_rate_per_second"] = c.r.MinRate
		if c.fastCond() {
			confidence = max(confidence, exceedance(float64(c.fireCount), c.fireThreshold()))
		}
	}
	return confidence
}

// series counts records in buckets over a sliding span.
type series struct {
	width, span time.Duration
	buckets     []bucket
}

type bucket struct {
	t   time.Time // start of the bucket
	n   int64
	sum float64
}

// add counts one record at ts carrying value v.
func (s *series) add(ts time.Time, v float64) {
	b := ts.Truncate(s.width)
	// Records arrive roughly in order: look at the last few buckets only.
	for i := len(s.buckets) - 1; i >= 0 && i >= len(s.buckets)-3; i-- {
		if s.buckets[i].t.Equal(b) {
			s.buckets[i].n++
			s.buckets[i].sum += v
			return
		}
	}
	s.buckets = append(s.buckets, bucket{t: b, n: 1, sum: v})
}

// total sums the buckets in (now-span, now] and forgets older ones.
func (s *series) total(now time.Time) (n int64, sum float64) {
	cutoff := now.Add(-s.span)
	i := 0
	for i < len(s.buckets) && !s.buckets[i].t.After(cutoff) {
		i++
	}
	s.buckets = s.buckets[i:]
	for _, b := range s.buckets {
		if !b.t.After(now) {
			n += b.n
			sum += b.sum
		}
	}
	return n, sum
}

// covered is how much of the span, up to now, its records cover: from the
// start of its oldest bucket, at least one bucket.
func (s *series) covered(now time.Time) time.Duration {
	if len(s.buckets) == 0 {
		return s.span
	}
	return min(s.span, max(s.width, now.Sub(s.buckets[0].t)))
}

// sustain is the share of the span's buckets, as of the last total, that
// hold at least one record.
func (s *series) sustain(now time.Time) float64 {
	all := int(s.span / s.width)
	busy := 0
	for _, b := range s.buckets {
		if !b.t.After(now) && b.n > 0 {
			busy++
		}
	}
	return min(1, float64(busy)/float64(max(all, 1)))
}
