package rules

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"text/template"
	"time"
)

// Facts are what a summary or action template can use.
type Facts struct {
	Rule, Kind, Key string
	// The subject: a process, a parent, an executable, a container or the host.
	Exe       string
	PID, PPID int64
	Container string
	Host      string
	// Value is the measured value of threshold and ratio rules.
	Value float64
	// Count and Rate (per second) of events in Window, for rate rules.
	Count  int64
	Rate   float64
	Window time.Duration
	// FireRate is a rate rule's rate per second over its fire window (the
	// rate now), FireWindow that sub-window; Rate without one.
	FireRate   float64
	FireWindow time.Duration
	For        time.Duration
	// Trend: slope in units per minute, total growth, goodness of fit, and
	// the time until Limit is reached (0 when unknown).
	Slope, Growth, R2 float64
	// Limit is the memory a ratio or trend rule measures against, and
	// LimitName says which: "its cgroup memory limit" or "the host's memory".
	Limit     float64
	LimitName string
	ETA       time.Duration
	// Tree: Count is the live descendants, Growth their growth in Window.
	// Crash loop: Count failures in Window, Interval the median restart
	// interval, Codes the exit codes and signals seen ("1×12, SIGSEGV×2").
	Interval time.Duration
	Codes    string
	// Short-lived: Cores is the summed lifetime of the runs per second.
	Cores float64
	// Cgroup is the subject's cgroup (process.linux.cgroup), when it has one.
	Cgroup string
	// CPULimit is the subject's cgroup CPU limit in cores
	// (linnix.cgroup.cpu.limit), 0 when unlimited or unknown.
	CPULimit float64
	// OOM: RSS is the last victim's resident memory at the kill; Count the
	// kills since the incident started, Limit its cgroup memory limit.
	RSS float64
}

var funcs = template.FuncMap{
	// bytes renders a size: 2.0 GiB, 205 MiB, 512 B.
	"bytes": func(v float64) string {
		abs := math.Abs(v)
		for _, u := range []struct {
			div  float64
			name string
		}{{1 << 40, "TiB"}, {1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
			if abs >= u.div {
				q := v / u.div
				if math.Abs(q) >= 10 {
					return fmt.Sprintf("%.0f %s", q, u.name)
				}
				return fmt.Sprintf("%.1f %s", q, u.name)
			}
		}
		return fmt.Sprintf("%.0f B", v)
	},
	// pct renders a fraction as a percentage: 0.97 → 97%.
	"pct": func(v float64) string { return strconv.FormatFloat(v*100, 'f', 0, 64) + "%" },
	// dur renders a duration without noise: 3m, 1m30s, 14m.
	"dur": func(d time.Duration) string {
		switch {
		case d >= 10*time.Minute:
			d = d.Round(time.Minute)
		case d >= time.Minute:
			d = d.Round(time.Second)
		default:
			d = d.Round(100 * time.Millisecond)
		}
		s := d.String()
		for _, suffix := range []string{"m0s", "h0m"} {
			if len(s) > len(suffix) && s[len(s)-len(suffix):] == suffix {
				s = s[:len(s)-len(suffix)+1]
			}
		}
		return s
	},
	// num renders a count or rate without decimals.
	"num": func(v any) string {
		switch x := v.(type) {
		case float64:
			return strconv.FormatFloat(x, 'f', 0, 64)
		default:
			return fmt.Sprint(x)
		}
	},
}

// compile parses a template and runs it once on sample facts, so that a
// misspelt field fails validation rather than an incident.
func compile(name, text string) (*template.Template, error) {
	t, err := template.New(name).Funcs(funcs).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	if err := t.Execute(io.Discard, Facts{Exe: "sample", PID: 1, Window: time.Second}); err != nil {
		return nil, err
	}
	return t, nil
}
