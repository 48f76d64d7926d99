package engine

import (
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
	"github.com/linnix-os/otelcol-linnix/internal/pdatautil"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/rules"
)

// shortLivedKind is a rate of exits of processes that lived less than
// max_lifetime: a job started far too often. With min_cores it also needs
// the churn to cost: the runs' summed lifetimes per second of window (busy
// cores, an upper bound of their CPU) must reach it.
type shortLivedKind struct{}

func (shortLivedKind) newChecker(r *rules.Rule) checker {
	return &shortLived{rate: rate{r: r, window: series{width: bucketWidth(r.Window), span: r.Window}}}
}

// accept counts an exit only when its lifetime is known and short.
func (shortLivedKind) accept(r *rules.Rule, attrs pcommon.Map) bool {
	// Read whatever the number's type: a relay or a transform may have
	// made it an int or a string.
	life, ok := pdatautil.Float(attrs, contract.ProcessLifetime)
	return ok && life < r.MaxLifetime.Seconds()
}

// shortLived shares rate's bucket counter, summing lifetimes alongside.
type shortLived struct {
	rate
	sustained float64 // at the last evaluation
}

func (c *shortLived) observeRecord(ts time.Time, _ string, attrs pcommon.Map) {
	life, _ := pdatautil.Float(attrs, contract.ProcessLifetime)
	c.add(ts, life)
}

// cores is the summed lifetime of the runs in the window per second.
func (c *shortLived) cores() float64 { return c.sum / c.r.Window.Seconds() }

// meanLifetime is the mean lifetime of the runs in the window, in seconds.
func (c *shortLived) meanLifetime() float64 {
	if c.count == 0 {
		return 0
	}
	return c.sum / float64(c.count)
}

func (c *shortLived) evaluate(env *env) (bool, bool) {
	cond, idle := c.rate.evaluate(env)
	c.sustained = c.window.sustain(env.now)
	if c.sustained < c.r.MinSustain {
		cond = false
	}
	if max := c.r.MaxMeanLifetime.Seconds(); max > 0 && c.meanLifetime() > max {
		cond = false
	}
	return cond && c.cores() >= c.r.MinCores, idle
}

// route keys group_by parent by the parent and the executable: who starts
// what, again and again. Other groupings are group_by's.
func (shortLivedKind) route(r *rules.Rule, event string, s Subject, _ pcommon.Map) (string, Subject, bool) {
	if r.GroupBy != rules.GroupParent {
		return groupKey(r.GroupBy, s, event)
	}
	if s.PPID == 0 || s.Exe == "" {
		return "", s, false
	}
	return "short/" + s.Host + "/" + strconv.FormatInt(s.PPID, 10) + "/" + s.Exe,
		Subject{PPID: s.PPID, Exe: s.Exe, ExePath: s.ExePath, Container: s.Container, Cgroup: s.Cgroup, Host: s.Host}, true
}

func (c *shortLived) describe(env *env, f *rules.Facts, ev map[string]any) float64 {
	confidence := c.rate.describe(env, f, ev)
	f.Cores = c.cores()
	ev["max_lifetime_seconds"] = c.r.MaxLifetime.Seconds()
	ev["busy_cores"] = f.Cores
	ev["mean_lifetime_seconds"] = c.meanLifetime()
	ev["sustained"] = c.sustained
	if c.r.MaxMeanLifetime > 0 {
		ev["threshold_mean_lifetime_seconds"] = c.r.MaxMeanLifetime.Seconds()
	}
	if c.r.MinCores > 0 {
		ev["threshold_cores"] = c.r.MinCores
	}
	return confidence
}
