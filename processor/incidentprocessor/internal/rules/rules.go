// Package rules defines incident rules: their YAML form, validation with
// messages that name the rule and the field, the built-in default set, and
// the summary and action templates.
package rules

import (
	"bytes"
	"errors"
	"fmt"
	"text/template"
	"time"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
)

// Kind is what a rule measures and how.
type Kind string

// Kinds of rule.
const (
	KindThreshold  Kind = "threshold"
	KindRate       Kind = "rate"
	KindShortLived Kind = "short_lived"
	KindTrend      Kind = "trend"
	KindRatio      Kind = "ratio"
	// KindTree counts the live descendants of a process tree (forks in,
	// exits out) and fires when they pass a bound while growing.
	KindTree Kind = "tree"
	// KindCrashLoop counts failing exits (non-zero code or a fatal signal)
	// of one executable under one parent, restarted at a supervisor's pace.
	KindCrashLoop Kind = "crash_loop"
	// KindOOM counts the OOM killer's victims (exit records marked
	// linnix.oom.killed) of one executable in one cgroup.
	KindOOM Kind = "oom"
)

// GroupBy is the subject a rule's incidents are about.
type GroupBy string

// Subjects a rule can group by.
const (
	GroupProcess    GroupBy = "process"
	GroupParent     GroupBy = "parent"
	GroupExecutable GroupBy = "executable"
	GroupContainer  GroupBy = "container.id"
	GroupHost       GroupBy = "host"
)

// State is an incident's state. The values are the record contract's, so
// that a State is written to incident.state as it is.
type State string

// Incident states.
const (
	StateFiring   State = contract.StateFiring
	StateResolved State = contract.StateResolved
)

// Severity is a rule's severity, written to incident.severity as it is.
type Severity string

// Severities, lowest first.
const (
	SeverityInfo     Severity = contract.SeverityInfo
	SeverityWarning  Severity = contract.SeverityWarning
	SeverityCritical Severity = contract.SeverityCritical
)

// Denominators of a ratio rule.
const (
	OfCgroupMemoryLimit = "cgroup_memory_limit"
	OfHostMemory        = "host_memory"
)

// Rule is one incident rule. Fields after Actions apply to some kinds only.
type Rule struct {
	Name     string        `mapstructure:"name"`
	Kind     Kind          `mapstructure:"kind"`
	Where    string        `mapstructure:"where"`
	GroupBy  GroupBy       `mapstructure:"group_by"`
	For      time.Duration `mapstructure:"for"`
	Window   time.Duration `mapstructure:"window"`
	Severity Severity      `mapstructure:"severity"`
	Cooldown time.Duration `mapstructure:"cooldown"`
	Summary  string        `mapstructure:"summary"`
	Actions  []string      `mapstructure:"actions"`

	// threshold, trend, ratio: the metric, and for threshold and ratio the
	// comparison.
	Metric string  `mapstructure:"metric"`
	Op     string  `mapstructure:"op"`
	Value  float64 `mapstructure:"value"`
	// PerSecond makes threshold, trend and ratio read the metric's rate of
	// increase per second rather than its value: a cumulative counter such
	// as process.cpu.time (seconds) then reads as cores.
	PerSecond bool `mapstructure:"per_second"`

	// rate: which lifecycle event; rate and short_lived: how many in Window.
	Event    string  `mapstructure:"event"`
	MinCount int     `mapstructure:"min_count"`
	MinRate  float64 `mapstructure:"min_rate"`
	// rate with min_rate: also fire as soon as the rate over this shorter
	// sub-window reaches min_rate (default 1s, at most the window), on at
	// least min_sustain of its tenths.
	FireWindow time.Duration `mapstructure:"fire_window"`
	// short_lived: what counts as short.
	MaxLifetime time.Duration `mapstructure:"max_lifetime"`
	// short_lived: also require the summed lifetimes of the short runs in
	// the window, per second of window (busy cores, an upper bound of the
	// churn's CPU cost), to reach this; 0 = no cost condition.
	MinCores float64 `mapstructure:"min_cores"`
	// short_lived: only runs that on average lived no longer than this
	// count as churn (a hot exec loop's runs do almost nothing; a build's
	// compiler runs do real work); 0 = any.
	MaxMeanLifetime time.Duration `mapstructure:"max_mean_lifetime"`
	// short_lived: the share (0–1) of the window's fiftieths that must hold
	// a run, so that a burst (a maintainer script's loop over 200 files)
	// is not read as a sustained loop; rate: of the fire window's tenths;
	// 0 = any.
	MinSustain float64 `mapstructure:"min_sustain"`

	// tree: live descendants of one tree's root, and how much they must
	// have grown within the window (live now − fewest live in the window).
	MinLive       int `mapstructure:"min_live"`
	MinLiveGrowth int `mapstructure:"min_live_growth"`

	// crash_loop: the median interval between consecutive failures must be
	// at least this (a supervisor's pace; faster loops are short_job_flood's).
	MinRestartInterval time.Duration `mapstructure:"min_restart_interval"`

	// trend: least-squares slope per minute, goodness of fit and total growth.
	MinSlopePerMinute float64 `mapstructure:"min_slope_per_minute"`
	MinR2             float64 `mapstructure:"min_r2"`
	MinGrowth         float64 `mapstructure:"min_growth"`

	// ratio: the denominator, and an optional host-wide trigger on
	// MemAvailable/MemTotal that blames the largest process.
	Of                 string  `mapstructure:"of"`
	HostAvailableBelow float64 `mapstructure:"host_available_below"`

	// set names the keys the rule's configuration set, for partial
	// overrides of a built-in rule; nil for a rule built in Go.
	set map[string]bool

	summary *template.Template
	actions []*template.Template
}

// DefaultRateSustain is a rate rule's min_sustain unless it sets one: a
// fire window half of whose tenths hold an event. A storm fills every
// tenth; a fan-out of a few hundred forks at once fills one or two.
const DefaultRateSustain = 0.5

var severities = map[Severity]bool{SeverityInfo: true, SeverityWarning: true, SeverityCritical: true}

var groups = map[GroupBy]bool{GroupProcess: true, GroupParent: true, GroupExecutable: true, GroupContainer: true, GroupHost: true}

var ops = map[string]bool{">": true, ">=": true, "<": true, "<=": true}

var events = map[string]bool{"fork": true, "exec": true, "exit": true}

// fieldError names the rule and the field at fault.
func fieldError(r *Rule, field, format string, args ...any) error {
	return fmt.Errorf("rule %q: %s: %s", r.Name, field, fmt.Sprintf(format, args...))
}

// Validate checks r, fills kind-specific defaults, and compiles its
// templates. WhereCheck, when given, compiles the where expression for the
// rule's input (lifecycle records or metric data points).
func (r *Rule) Validate(whereCheck func(r *Rule) error) error {
	var errs []error
	add := func(field, format string, args ...any) { errs = append(errs, fieldError(r, field, format, args...)) }
	if r.Name == "" {
		return errors.New("rule without a name: every rule needs name")
	}
	if r.Severity == "" {
		r.Severity = SeverityWarning
	}
	if !severities[r.Severity] {
		add("severity", "must be info, warning or critical, got %q", r.Severity)
	}
	if r.GroupBy == "" {
		r.GroupBy = defaultGroup(r.Kind)
	}
	if !groups[r.GroupBy] {
		add("group_by", "must be process, parent, executable, container.id or host, got %q", r.GroupBy)
	}
	for field, d := range map[string]time.Duration{"for": r.For, "window": r.Window, "cooldown": r.Cooldown, "max_lifetime": r.MaxLifetime, "max_mean_lifetime": r.MaxMeanLifetime, "min_restart_interval": r.MinRestartInterval, "fire_window": r.FireWindow} {
		if d < 0 {
			add(field, "must not be negative, got %v", d)
		}
	}
	if r.Cooldown == 0 {
		r.Cooldown = 10 * time.Minute
	}
	if r.PerSecond && r.IsLogRule() {
		add("per_second", "applies to threshold, trend and ratio rules only, not %s", r.Kind)
	}
	switch r.Kind {
	case KindThreshold:
		r.requireMetric(add)
		r.requireOp(add)
	case KindRate:
		if !events[r.Event] {
			add("event", "must be fork, exec or exit, got %q", r.Event)
		}
		r.requireWindowCount(add)
		if r.MinRate > 0 && r.FireWindow == 0 {
			r.FireWindow = min(time.Second, r.Window)
		}
		if r.FireWindow > r.Window {
			add("fire_window", "must not be longer than window (%v), got %v", r.Window, r.FireWindow)
		}
		if r.MinSustain == 0 && !r.set["min_sustain"] {
			r.MinSustain = DefaultRateSustain
		}
		if r.FireWindow > 0 && r.MinRate <= 0 {
			add("fire_window", "needs min_rate: the rate over the fire window that fires")
		}
		r.requireSustain(add)
	case KindShortLived:
		r.Event = "exit"
		if r.MaxLifetime == 0 {
			r.MaxLifetime = time.Second
		}
		r.requireWindowCount(add)
		if r.MinCores < 0 {
			add("min_cores", "must not be negative, got %v", r.MinCores)
		}
		r.requireSustain(add)
	case KindTree:
		r.Event = "fork"
		if r.Window <= 0 {
			add("window", "missing: how far back the live count's growth is judged, e.g. 30s")
		}
		if r.MinLive <= 0 {
			add("min_live", "must be positive: the live descendants that fire, got %d", r.MinLive)
		}
		if r.MinLiveGrowth < 0 {
			add("min_live_growth", "must not be negative, got %d", r.MinLiveGrowth)
		}
	case KindCrashLoop:
		r.Event = "exit"
		r.requireWindowCount(add)
	case KindOOM:
		r.Event = "exit"
		if r.Window <= 0 {
			add("window", "missing: the quiet period after the last kill before the incident resolves, e.g. 10m")
		}
		if r.MinCount == 0 {
			r.MinCount = 1
		}
		if r.MinCount < 0 {
			add("min_count", "must be positive, got %d", r.MinCount)
		}
	case KindTrend:
		r.requireMetric(add)
		if r.Window < 10*time.Second {
			add("window", "a trend needs a window of at least 10s, got %v", r.Window)
		}
		if r.MinR2 < 0 || r.MinR2 > 1 {
			add("min_r2", "must be between 0 and 1, got %v", r.MinR2)
		}
		if r.MinSlopePerMinute <= 0 {
			add("min_slope_per_minute", "must be positive, got %v", r.MinSlopePerMinute)
		}
	case KindRatio:
		r.requireMetric(add)
		r.requireOp(add)
		if r.Of != OfCgroupMemoryLimit && r.Of != OfHostMemory {
			add("of", "must be cgroup_memory_limit or host_memory, got %q", r.Of)
		}
		if r.HostAvailableBelow < 0 || r.HostAvailableBelow >= 1 {
			add("host_available_below", "must be between 0 and 1, got %v", r.HostAvailableBelow)
		}
	case "":
		add("kind", "missing: one of threshold, rate, short_lived, trend, ratio, tree, crash_loop, oom")
	default:
		add("kind", "unknown kind %q: one of threshold, rate, short_lived, trend, ratio, tree, crash_loop, oom", r.Kind)
	}
	if r.Summary == "" {
		add("summary", "missing: a one-line template such as \"{{.Exe}} pid {{.PID}} ...\"")
	} else if t, err := compile(r.Name+".summary", r.Summary); err != nil {
		add("summary", "%v", err)
	} else {
		r.summary = t
	}
	r.actions = r.actions[:0]
	for i, a := range r.Actions {
		t, err := compile(fmt.Sprintf("%s.actions[%d]", r.Name, i), a)
		if err != nil {
			add(fmt.Sprintf("actions[%d]", i), "%v", err)
			continue
		}
		r.actions = append(r.actions, t)
	}
	if len(errs) == 0 && r.Where != "" && whereCheck != nil {
		if err := whereCheck(r); err != nil {
			add("where", "%v", err)
		}
	}
	return errors.Join(errs...)
}

func (r *Rule) requireMetric(add func(string, string, ...any)) {
	if r.Metric == "" {
		add("metric", "missing: the metric name, e.g. linnix.process.cpu.cores")
	}
}

func (r *Rule) requireOp(add func(string, string, ...any)) {
	if r.Op == "" {
		r.Op = ">="
	}
	if !ops[r.Op] {
		add("op", "must be one of >, >=, <, <=, got %q", r.Op)
	}
}

func (r *Rule) requireSustain(add func(string, string, ...any)) {
	if r.MinSustain < 0 || r.MinSustain > 1 {
		add("min_sustain", "must be between 0 and 1, got %v", r.MinSustain)
	}
}

func (r *Rule) requireWindowCount(add func(string, string, ...any)) {
	if r.Window <= 0 {
		add("window", "missing: how far back events are counted, e.g. 5s")
	}
	if r.MinCount <= 0 && r.MinRate <= 0 {
		add("min_count", "set min_count (events in the window) or min_rate (events per second)")
	}
	if r.MinCount < 0 || r.MinRate < 0 {
		add("min_count", "must not be negative")
	}
}

func defaultGroup(kind Kind) GroupBy {
	switch kind {
	case KindRate:
		return GroupHost
	case KindShortLived, KindOOM:
		return GroupExecutable
	case KindTree, KindCrashLoop:
		return GroupParent
	}
	return GroupProcess
}

// IsLogRule reports whether the rule reads lifecycle records (otherwise
// metric data points).
func (r *Rule) IsLogRule() bool {
	switch r.Kind {
	case KindRate, KindShortLived, KindTree, KindCrashLoop, KindOOM:
		return true
	}
	return false
}

// Reads reports whether a log rule reads records of event: its own event,
// and for a tree also the exits that take processes out of it.
func (r *Rule) Reads(event string) bool {
	return r.Event == event || r.Kind == KindTree && event == "exit"
}

// Threshold is the count that fires a rate or short_lived rule.
func (r *Rule) Threshold() float64 {
	if r.MinCount > 0 {
		return float64(r.MinCount)
	}
	return r.MinRate * r.Window.Seconds()
}

// Compare applies the rule's operator.
func (r *Rule) Compare(v float64) bool {
	switch r.Op {
	case ">":
		return v > r.Value
	case ">=":
		return v >= r.Value
	case "<":
		return v < r.Value
	case "<=":
		return v <= r.Value
	}
	return false
}

// Render fills the summary and action templates.
func (r *Rule) Render(data any) (summary string, actions []string, err error) {
	var b bytes.Buffer
	if err := r.summary.Execute(&b, data); err != nil {
		return "", nil, err
	}
	summary = b.String()
	for _, t := range r.actions {
		b.Reset()
		if err := t.Execute(&b, data); err != nil {
			return "", nil, err
		}
		actions = append(actions, b.String())
	}
	return summary, actions, nil
}
