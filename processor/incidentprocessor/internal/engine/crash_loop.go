package engine

import (
	"fmt"
	"hash/fnv"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/rules"
)

// crashLoopKind counts failing exits (a non-zero exit code or a fatal
// signal) of one executable under one parent (group_by parent, the
// default) or in one container, host or executable, and fires at
// min_count (or min_rate × window) failures in the window whose median
// restart interval is at least min_restart_interval: a supervisor
// restarting a program that keeps failing. Successful exits are not
// counted, and a script's tight loop of failing probes (a grep -q per
// file) is faster than any supervisor's back-off.
type crashLoopKind struct{}

func (crashLoopKind) newChecker(r *rules.Rule) checker { return &crashLoop{r: r} }

// accept counts failing exits only.
func (crashLoopKind) accept(_ *rules.Rule, attrs pcommon.Map) bool {
	code, _ := attrs.Get(contract.ProcessExitCode)
	_, signaled := attrs.Get(contract.ProcessExitSignal)
	return code.Int() != 0 || signaled
}

// route keys a failure by its executable, its command line and its group:
// a crash loop restarts the same command; a build's compiler probes (go
// build runs gcc on one flag after another, several failing) differ in
// their arguments. Without command_args (command_args: off) it keys by
// the executable alone.
func (crashLoopKind) route(r *rules.Rule, _ string, s Subject, attrs pcommon.Map) (string, Subject, bool) {
	if s.Exe == "" {
		return "", s, false
	}
	subj := Subject{Exe: s.Exe, ExePath: s.ExePath, Host: s.Host, Container: s.Container, Cgroup: s.Cgroup}
	command := s.Exe + "/" + argsHash(attrs)
	switch r.GroupBy {
	case rules.GroupParent, rules.GroupProcess:
		subj.PPID = s.PPID
		return "crash/" + s.Host + "/" + strconv.FormatInt(s.PPID, 10) + "/" + command, subj, true
	case rules.GroupExecutable:
		return "crash/" + command, subj, true
	}
	key, _, ok := groupKey(r.GroupBy, s, "exit")
	return key + "/" + command, subj, ok
}

// argsHash identifies a command line (as redacted) without keeping it.
func argsHash(attrs pcommon.Map) string {
	v, ok := attrs.Get(contract.ProcessCommandArgs)
	if !ok || v.Type() != pcommon.ValueTypeSlice {
		return ""
	}
	h := fnv.New64a()
	for i := 0; i < v.Slice().Len(); i++ {
		h.Write([]byte(v.Slice().At(i).AsString()))
		h.Write([]byte{0})
	}
	return strconv.FormatUint(h.Sum64(), 36)
}

// maxFailures bounds a crash loop's memory; beyond it the oldest go.
const maxFailures = 256

type failure struct {
	t      time.Time
	code   int64
	signal int64
}

type crashLoop struct {
	r        *rules.Rule
	failures []failure
	count    int
	median   time.Duration // at the last evaluation
}

func (c *crashLoop) observeRecord(ts time.Time, _ string, attrs pcommon.Map) {
	code, _ := attrs.Get(contract.ProcessExitCode)
	sig, _ := attrs.Get(contract.ProcessExitSignal)
	c.failures = append(c.failures, failure{t: ts, code: code.Int(), signal: sig.Int()})
	if len(c.failures) > maxFailures {
		c.failures = slices.Delete(c.failures, 0, len(c.failures)-maxFailures)
	}
}

func (c *crashLoop) evaluate(env *env) (bool, bool) {
	cutoff := env.now.Add(-c.r.Window)
	i := 0
	for i < len(c.failures) && !c.failures[i].t.After(cutoff) {
		i++
	}
	c.failures = c.failures[i:]
	c.count = len(c.failures)
	c.median = medianInterval(c.failures)
	cond := float64(c.count) >= c.r.Threshold() && c.count >= 2 && c.median >= c.r.MinRestartInterval
	return cond, c.count == 0
}

// medianInterval is the median time between consecutive failures.
func medianInterval(fs []failure) time.Duration {
	if len(fs) < 2 {
		return 0
	}
	d := make([]time.Duration, 0, len(fs)-1)
	for i := 1; i < len(fs); i++ {
		d = append(d, fs[i].t.Sub(fs[i-1].t))
	}
	slices.Sort(d)
	return d[len(d)/2]
}

func (c *crashLoop) describe(_ *env, f *rules.Facts, ev map[string]any) float64 {
	codes, signals := map[int64]int{}, map[int64]int{}
	for _, x := range c.failures {
		if x.signal != 0 {
			signals[x.signal]++
		} else {
			codes[x.code]++
		}
	}
	f.Count, f.Interval = int64(c.count), c.median
	f.Codes = strings.Join(append(tally(codes, "exit "), tally(signals, "signal ")...), ", ")
	f.Rate = float64(c.count) / c.r.Window.Seconds()
	ev["failures"] = c.count
	ev["window_seconds"] = c.r.Window.Seconds()
	ev["median_restart_interval_seconds"] = c.median.Seconds()
	ev["threshold_count"] = c.r.Threshold()
	ev["exit_codes"] = countsMap(codes)
	if len(signals) > 0 {
		ev["signals"] = countsMap(signals)
	}
	return exceedance(float64(c.count), c.r.Threshold())
}

// tally renders counts as ["exit 1×12", "exit 2×3"], most frequent first.
func tally(m map[int64]int, prefix string) []string {
	keys := make([]int64, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || m[keys[i]] == m[keys[j]] && keys[i] < keys[j] })
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, fmt.Sprintf("%s%d×%d", prefix, k, m[k]))
	}
	return out
}

func countsMap(m map[int64]int) map[string]any {
	out := make(map[string]any, len(m))
	for k, n := range m {
		out[strconv.FormatInt(k, 10)] = int64(n)
	}
	return out
}
