package engine

import (
	"time"

	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/rules"
)

// rateKind counts a subject's lifecycle records of one event in a sliding
// window, and fires when the count reaches min_count (or min_rate × window).
type rateKind struct{}

func (rateKind) newChecker(r *rules.Rule) checker { return &rate{r: r} }

// rate counts in buckets about a fiftieth of the window wide, so that a
// storm of 100,000 forks costs 50 buckets, not 100,000 timestamps.
type rate struct {
	r       *rules.Rule
	buckets []bucket
	count   int64   // at the last evaluation
	sum     float64 // of the records' values (short_lived: lifetimes), at the last evaluation
}

type bucket struct {
	t   time.Time // start of the bucket
	n   int64
	sum float64
}

// bucketWidth splits a window into about 50 buckets, at least 100ms wide.
func bucketWidth(window time.Duration) time.Duration {
	return max(window/50, 100*time.Millisecond)
}

func (c *rate) observe(ts time.Time) { c.add(ts, 0) }

// add counts one record at ts carrying value v.
func (c *rate) add(ts time.Time, v float64) {
	b := ts.Truncate(bucketWidth(c.r.Window))
	// Records arrive roughly in order: look at the last few buckets only.
	for i := len(c.buckets) - 1; i >= 0 && i >= len(c.buckets)-3; i-- {
		if c.buckets[i].t.Equal(b) {
			c.buckets[i].n++
			c.buckets[i].sum += v
			return
		}
	}
	c.buckets = append(c.buckets, bucket{t: b, n: 1, sum: v})
}

// countAt sums the buckets in (now-window, now] and forgets older ones.
func (c *rate) countAt(now time.Time) int64 {
	cutoff := now.Add(-c.r.Window)
	i := 0
	for i < len(c.buckets) && !c.buckets[i].t.After(cutoff) {
		i++
	}
	c.buckets = c.buckets[i:]
	var n int64
	c.sum = 0
	for _, b := range c.buckets {
		if !b.t.After(now) {
			n += b.n
			c.sum += b.sum
		}
	}
	return n
}

// sustain is the share of the window's buckets, as counted at the last
// evaluation, that hold at least one record.
func (c *rate) sustain(now time.Time) float64 {
	w := bucketWidth(c.r.Window)
	total := int(c.r.Window / w)
	busy := 0
	for _, b := range c.buckets {
		if !b.t.After(now) && b.n > 0 {
			busy++
		}
	}
	return min(1, float64(busy)/float64(max(total, 1)))
}

func (c *rate) evaluate(env *env) (bool, bool) {
	c.count = c.countAt(env.now)
	return float64(c.count) >= c.r.Threshold(), c.count == 0
}

func (c *rate) describe(_ *env, f *rules.Facts, ev map[string]any) float64 {
	f.Count, f.Rate = c.count, float64(c.count)/c.r.Window.Seconds()
	ev["count"] = c.count
	ev["window_seconds"] = c.r.Window.Seconds()
	ev["rate_per_second"] = f.Rate
	ev["threshold_count"] = c.r.Threshold()
	return exceedance(float64(c.count), c.r.Threshold())
}
