package engine

import (
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/rules"
)

// treeKind counts the live descendants of a process tree. A fork puts the
// child in the tree of its parent (the parent's own tree when the parent
// was forked while we watched, else a tree rooted at the parent); an exit
// takes it out. The lineage is kept at fork time, so orphans reparented to
// init stay in the tree that made them: a fork bomb whose shells exit at
// once is still one tree. Children of init and kthreadd (ppid ≤ 2) start no
// tree: every service would otherwise be one.
//
// It fires when a tree has at least min_live live descendants that grew by
// at least min_live_growth within the window (live now − fewest live in
// the window), and then stays firing while the live count stays at or
// above half of min_live: a fork bomb held by a pids cgroup limit plateaus there,
// and a plateau of stuck processes is still the fault. Many children that
// finish (a build's compilers) never add up to a live count.
//
// One instance per rule (perRule): the lineage is the rule's, bounded by
// maxLineage processes; forks beyond it are not counted.
type treeKind struct {
	lineage map[hostPID]*treeRoot // live tracked process → its tree
	roots   map[string]*treeRoot
	last    *treeRoot // the tree of the record being routed
}

// maxLineage bounds a tree rule's memory: about 100 bytes a process.
const maxLineage = 65536

type treeRoot struct {
	key  string
	subj Subject
	live int
	// fresh: created by the record being routed, so its tree grew from
	// nothing. A checker dropped while its tree lived on (stale_after
	// without a record) starts again from the live count, not from zero.
	fresh bool
}

func (*treeKind) forRule() kind {
	return &treeKind{lineage: map[hostPID]*treeRoot{}, roots: map[string]*treeRoot{}}
}

func (k *treeKind) newChecker(r *rules.Rule) checker { return &tree{r: r, k: k} }

// route updates the lineage for a fork or an exit and returns the tree's
// key; the checker of that key then reads k.last.
func (k *treeKind) route(_ *rules.Rule, event string, s Subject, _ pcommon.Map) (string, Subject, bool) {
	k.last = nil
	switch event {
	case "fork":
		child, parent := hostPID{s.Host, s.PID}, hostPID{s.Host, s.PPID}
		if old := k.lineage[child]; old != nil {
			k.leave(child, old) // pid reused: its exit was lost
		}
		if s.PPID <= 2 || s.PID <= 0 || len(k.lineage) >= maxLineage {
			return "", s, false
		}
		root := k.lineage[parent]
		if root == nil {
			key := "tree/" + s.Host + "/" + strconv.FormatInt(s.PPID, 10)
			if root = k.roots[key]; root == nil {
				// The fork record's executable is the child's, which runs
				// its parent's image until it execs.
				root = &treeRoot{key: key, subj: Subject{PID: s.PPID, Exe: s.Exe, ExePath: s.ExePath,
					Container: s.Container, Cgroup: s.Cgroup, Host: s.Host}}
				k.roots[key] = root
				root.fresh = true
			}
		}
		root.live++
		k.lineage[child] = root
		k.last = root
	case "exit":
		child := hostPID{s.Host, s.PID}
		root := k.lineage[child]
		if root == nil {
			return "", s, false
		}
		k.leave(child, root)
		k.last = root
	default:
		return "", s, false
	}
	return k.last.key, k.last.subj, true
}

// hostPID names a process among every host a gateway hears from.
type hostPID struct {
	host string
	pid  int64
}

func (k *treeKind) leave(p hostPID, root *treeRoot) {
	delete(k.lineage, p)
	root.live--
	if root.live <= 0 {
		root.live = 0
		delete(k.roots, root.key)
	}
}

// tree is one tree's view: its root's live count, sampled into buckets of
// the fewest live in each fiftieth of the window.
type tree struct {
	r       *rules.Rule
	k       *treeKind
	root    *treeRoot
	mins    []bucket // n: fewest live in the bucket
	peak    int
	latched bool
	live    int // at the last evaluation
	growth  int
}

func (c *tree) observeRecord(ts time.Time, _ string, _ pcommon.Map) {
	if c.k.last != nil {
		c.root = c.k.last
	}
	c.sample(ts)
}

func (c *tree) sample(ts time.Time) {
	if c.root == nil {
		return
	}
	live := int64(c.root.live)
	c.peak = max(c.peak, c.root.live)
	b := ts.Truncate(bucketWidth(c.r.Window))
	if len(c.mins) == 0 && c.root.fresh {
		live = 0 // a new tree grew from nothing
	}
	c.root.fresh = false
	if n := len(c.mins); n > 0 && !b.After(c.mins[n-1].t) {
		c.mins[n-1].n = min(c.mins[n-1].n, live)
		return
	}
	c.mins = append(c.mins, bucket{t: b, n: live})
}

func (c *tree) evaluate(env *env) (bool, bool) {
	c.sample(env.now)
	cutoff := env.now.Add(-c.r.Window)
	i := 0
	for i < len(c.mins)-1 && !c.mins[i].t.After(cutoff) {
		i++
	}
	c.mins = c.mins[i:]
	c.live = 0
	if c.root != nil {
		c.live = c.root.live
	}
	fewest := int64(c.live)
	for _, b := range c.mins {
		fewest = min(fewest, b.n)
	}
	c.growth = c.live - int(fewest)
	// Fire on the climb; once firing, hold down to half of min_live, so a
	// bomb churning around its pids limit does not flap.
	climbing := c.live >= c.r.MinLive && c.growth >= c.r.MinLiveGrowth
	c.latched = climbing || c.latched && 2*c.live >= c.r.MinLive
	return c.latched, c.live == 0 && !c.latched
}

func (c *tree) describe(_ *env, f *rules.Facts, ev map[string]any) float64 {
	f.Count, f.Growth = int64(c.live), float64(c.growth)
	ev["live_descendants"] = c.live
	ev["live_growth"] = c.growth
	ev["peak_live"] = c.peak
	ev["window_seconds"] = c.r.Window.Seconds()
	ev["threshold_live"] = c.r.MinLive
	ev["threshold_growth"] = c.r.MinLiveGrowth
	return exceedance(float64(c.live), float64(c.r.MinLive))
}
