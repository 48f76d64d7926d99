package engine

import "time"

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
