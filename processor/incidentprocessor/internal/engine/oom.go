package engine

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
	"github.com/linnix-os/otelcol-linnix/internal/pdatautil"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/rules"
)

// oomKind counts the OOM killer's victims (exit records marked
// linnix.oom.killed) of one executable in one cgroup (group_by
// executable, the default) or in one container or host. It fires at
// min_count kills in the window (default 1: every kill matters) and stays
// one incident while kills keep coming, so that a service killed and
// restarted again and again is one incident with a count, not one per
// kill; it resolves when a window passes without a kill.
type oomKind struct{}

func (oomKind) newChecker(r *rules.Rule) checker { return &oom{r: r} }

// accept counts OOM victims only. The mark is a bool; a relay may have
// made it a string.
func (oomKind) accept(_ *rules.Rule, attrs pcommon.Map) bool {
	v, ok := attrs.Get(contract.OOMKilled)
	return ok && (v.Type() == pcommon.ValueTypeBool && v.Bool() || v.AsString() == "true")
}

// route keys a kill by its executable and where it ran: a loop is the
// same program dying in the same cgroup (container), whatever its pid.
func (oomKind) route(r *rules.Rule, _ string, s Subject, _ pcommon.Map) (string, Subject, bool) {
	if r.GroupBy != rules.GroupExecutable {
		key, _, ok := groupKey(r.GroupBy, s, "exit")
		return "oom/" + key, s, ok
	}
	if s.Exe == "" {
		return "", s, false
	}
	where := s.Container
	if where == "" {
		where = s.Cgroup
	}
	return "oom/" + s.Host + "/" + where + "/" + s.Exe, s, true
}

// maxKills bounds the kill times kept for the window.
const maxKills = 256

type oom struct {
	r     *rules.Rule
	kills []time.Time // in the window
	// total counts the kills since the first of this run of kills (kills
	// no further apart than the window); reported is total at the last
	// emission.
	total, reported int64
	rss             float64 // the last victim's, at the kill
}

func (c *oom) observeRecord(ts time.Time, _ string, attrs pcommon.Map) {
	c.trim(ts)
	if len(c.kills) == 0 {
		c.total, c.reported = 0, 0 // a new run after a quiet window
	}
	c.kills = append(c.kills, ts)
	if len(c.kills) > maxKills {
		c.kills = c.kills[len(c.kills)-maxKills:]
	}
	c.total++
	c.rss = float64(pdatautil.Int(attrs, contract.OOMRSS))
}

// trim forgets kills at or before now − window.
func (c *oom) trim(now time.Time) {
	cutoff := now.Add(-c.r.Window)
	i := 0
	for i < len(c.kills) && !c.kills[i].After(cutoff) {
		i++
	}
	c.kills = c.kills[i:]
}

func (c *oom) evaluate(env *env) (bool, bool) {
	c.trim(env.now)
	return len(c.kills) >= c.r.MinCount, len(c.kills) == 0
}

// news: the count of kills has doubled since the last emission (2, 4,
// 8, ...), so that a loop's count is kept current without a message per
// kill.
func (c *oom) news() bool { return c.reported > 0 && c.total >= 2*c.reported }

func (c *oom) describe(env *env, f *rules.Facts, ev map[string]any) float64 {
	c.reported = c.total
	f.Count, f.RSS = c.total, c.rss
	f.Rate = float64(len(c.kills)) / c.r.Window.Seconds()
	ev["kills"] = c.total
	ev["kills_in_window"] = int64(len(c.kills))
	ev["window_seconds"] = c.r.Window.Seconds()
	if c.rss > 0 {
		ev["rss_bytes"] = c.rss
	}
	if limit := env.subject.CgroupLimit; limit > 0 {
		f.Limit, f.LimitName = limit, "its cgroup memory limit"
		ev["memory_limit_bytes"] = limit
	}
	// A kill is a fact, not an estimate.
	return 1
}
