package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/rules"
)

// States of an incident.
const (
	Firing   = rules.StateFiring
	Resolved = rules.StateResolved
)

// Incident is one emission: a firing (first or repeated) or a resolve.
type Incident struct {
	ID, Rule   string
	Kind       rules.Kind
	Severity   rules.Severity
	State      rules.State
	Started    time.Time
	At         time.Time
	Summary    string
	Actions    []string
	Subject    Subject
	Evidence   map[string]any
	Confidence float64
	// Repeat marks a firing re-emitted after the cooldown.
	Repeat bool
}

// step moves one subject's incident through firing, repeats and resolve.
func step(r *ruleState, st *state, cond bool, env *env) *Incident {
	now := env.now
	switch {
	case cond && !st.firing:
		st.firing, st.started, st.lastEmit = true, now, now
		st.id = incidentID(r.Name, st.key, now)
		return incident(r, st, Firing, env, false)
	case cond && (now.Sub(st.lastEmit) >= r.Cooldown || hasNews(st.check)):
		st.lastEmit = now
		return incident(r, st, Firing, env, true)
	case !cond && st.firing:
		st.firing = false
		return incident(r, st, Resolved, env, false)
	}
	return nil
}

// newsChecker is a checker whose active incident may have news worth a
// repeat before the cooldown (oom: the count of kills has doubled).
type newsChecker interface {
	// news reports, once, that the incident changed enough to repeat.
	news() bool
}

func hasNews(c checker) bool {
	n, ok := c.(newsChecker)
	return ok && n.news()
}

func incident(r *ruleState, st *state, state rules.State, env *env, repeat bool) *Incident {
	s := st.subject
	facts := rules.Facts{
		Rule: r.Name, Kind: string(r.Kind), Key: st.key, Exe: s.Exe, PID: s.PID, PPID: s.PPID,
		Container: s.Container, Host: s.Host, Window: r.Window, For: r.For,
		FireWindow: r.FireWindow, Cgroup: s.Cgroup, CPULimit: s.CPULimit,
	}
	evidence := map[string]any{}
	confidence := st.check.describe(env, &facts, evidence)
	summary, actions, err := r.Render(facts)
	if err != nil {
		summary = fmt.Sprintf("%s on %s (summary template failed: %v)", r.Name, st.key, err)
	}
	if state == Resolved {
		summary = "resolved: " + summary
	}
	return &Incident{
		ID: st.id, Rule: r.Name, Kind: r.Kind, Severity: r.Severity, State: state,
		Started: st.started, At: env.now, Summary: summary, Actions: actions, Subject: s,
		Evidence: evidence, Confidence: math.Max(0, math.Min(1, confidence)), Repeat: repeat,
	}
}

// incidentID is stable for one incident: the same for its firings, repeats
// and resolve, different for the next incident of the same subject.
func incidentID(rule, key string, started time.Time) string {
	h := sha256.Sum256([]byte(rule + "\x00" + key + "\x00" + strconv.FormatInt(started.UnixNano(), 10)))
	return hex.EncodeToString(h[:8])
}
