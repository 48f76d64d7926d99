package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
	"github.com/linnix-os/otelcol-linnix/internal/insightsapi"
)

// styles colours the output; with colour off every style renders plain.
type styles struct {
	fork, exec, exit, exitFailed, incident, warning, critical, info, dim, bold, ok, warn, fail lipgloss.Style
}

// newStyles renders for w: colours when w is a terminal that has them (and
// NO_COLOR is unset), plain text otherwise or when color is false.
func newStyles(w io.Writer, color bool) styles {
	r := lipgloss.NewRenderer(w)
	if !color {
		r.SetColorProfile(termenv.Ascii)
	}
	return stylesFor(r)
}

// stylesWithProfile renders with a fixed colour profile, whatever the
// writer is.
func stylesWithProfile(p termenv.Profile) styles {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(p)
	return stylesFor(r)
}

func stylesFor(r *lipgloss.Renderer) styles {
	c := func(color string) lipgloss.Style { return r.NewStyle().Foreground(lipgloss.Color(color)) }
	return styles{
		fork:       c("4"),
		exec:       c("2"),
		exit:       c("8"),
		exitFailed: c("3"),
		incident:   c("5").Bold(true),
		info:       c("6"),
		warning:    c("3").Bold(true),
		critical:   c("1").Bold(true),
		dim:        c("8"),
		bold:       r.NewStyle().Bold(true),
		ok:         c("2").Bold(true),
		warn:       c("3").Bold(true),
		fail:       c("1").Bold(true),
	}
}

func (s styles) severity(sev string) lipgloss.Style {
	switch sev {
	case contract.SeverityCritical:
		return s.critical
	case contract.SeverityWarning:
		return s.warning
	}
	return s.info
}

// formatEvent is one line of `linnix tail`, without the newline.
func formatEvent(e insightsapi.Event, s styles) string {
	var b strings.Builder
	b.WriteString(s.dim.Render(e.Time.Local().Format("15:04:05.000")))
	b.WriteByte(' ')
	name := fmt.Sprintf("%-8s", e.Type)
	switch e.Type {
	case insightsapi.EventFork:
		b.WriteString(s.fork.Render(name))
		fmt.Fprintf(&b, " pid %d ppid %d %s", e.PID, e.PPID, orDash(e.Executable))
	case insightsapi.EventExec:
		b.WriteString(s.exec.Render(name))
		fmt.Fprintf(&b, " pid %d ppid %d %s", e.PID, e.PPID, commandOf(e))
	case insightsapi.EventExit:
		code, hasCode := intAttr(e.Attributes, contract.ProcessExitCode)
		st := s.exit
		if hasCode && code != 0 {
			st = s.exitFailed
		}
		b.WriteString(st.Render(name))
		fmt.Fprintf(&b, " pid %d %s", e.PID, orDash(e.Executable))
		b.WriteString(exitDetail(e.Attributes))
	case insightsapi.EventIncident:
		b.WriteString(s.incident.Render(name))
		sev := e.Severity
		if sev == "" {
			sev = stringAttr(e.Attributes, contract.IncidentSeverity)
		}
		b.WriteByte(' ')
		b.WriteString(s.severity(sev).Render(strings.ToUpper(orDash(sev))))
		fmt.Fprintf(&b, " %s %s %s", orDash(stringAttr(e.Attributes, contract.IncidentRule)),
			orDash(stringAttr(e.Attributes, contract.IncidentState)), e.Body)
		if id := stringAttr(e.Attributes, contract.IncidentID); id != "" {
			b.WriteString(s.dim.Render(" [" + id + "]"))
		}
		return b.String()
	default:
		b.WriteString(name)
		if e.Body != "" {
			b.WriteString(" " + e.Body)
		}
	}
	if e.Container != "" {
		b.WriteString(s.dim.Render(" [" + shortID(e.Container) + "]"))
	}
	return b.String()
}

// formatDropped is the warning line for an `event: dropped` message.
func formatDropped(d insightsapi.Dropped, s styles) string {
	return s.warn.Render(fmt.Sprintf("!! missed %d records (%d in total): this terminal read the stream too slowly; narrow it with --type, --exe, --pid or --container", d.Missed, d.Total))
}

// writeEventJSON writes e as one line of JSON.
func writeEventJSON(w io.Writer, e insightsapi.Event) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

// exitDetail says how a process ended: its code, or the signal that killed
// it, and how long it lived.
func exitDetail(attrs map[string]any) string {
	var parts []string
	if sig, ok := intAttr(attrs, contract.ProcessExitSignal); ok && sig != 0 {
		parts = append(parts, fmt.Sprintf("killed by signal %d", sig))
	} else if code, ok := intAttr(attrs, contract.ProcessExitCode); ok {
		parts = append(parts, fmt.Sprintf("code %d", code))
	}
	if b, _ := attrs[contract.OOMKilled].(bool); b {
		parts = append(parts, "OOM-killed")
	}
	if b, _ := attrs[contract.ProcessExitCoreDumped].(bool); b {
		parts = append(parts, "core dumped")
	}
	if life, ok := floatAttr(attrs, contract.ProcessLifetime); ok {
		parts = append(parts, "after "+formatSeconds(life))
	}
	if len(parts) == 0 {
		return ""
	}
	return " " + strings.Join(parts, ", ")
}

// commandOf is the command line of an exec: its arguments when collected,
// else the command or the executable.
func commandOf(e insightsapi.Event) string {
	if args, ok := e.Attributes[contract.ProcessCommandArgs].([]any); ok && len(args) > 0 {
		parts := make([]string, len(args))
		for i, a := range args {
			parts[i] = fmt.Sprint(a)
		}
		return strings.Join(parts, " ")
	}
	if e.Command != "" {
		return e.Command
	}
	return orDash(e.Executable)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// shortID shortens a 64-hex container id as docker ps does.
func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func stringAttr(attrs map[string]any, key string) string {
	if v, ok := attrs[key]; ok && v != nil {
		return fmt.Sprint(v)
	}
	return ""
}

// intAttr reads a number from attributes decoded from pdata (int64) or from
// JSON (float64).
func intAttr(attrs map[string]any, key string) (int64, bool) {
	switch v := attrs[key].(type) {
	case int64:
		return v, true
	case int:
		return int64(v), true
	case float64:
		return int64(v), true
	case json.Number:
		n, err := v.Int64()
		return n, err == nil
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil
	}
	return 0, false
}

func floatAttr(attrs map[string]any, key string) (float64, bool) {
	switch v := attrs[key].(type) {
	case float64:
		return v, true
	case int64:
		return float64(v), true
	case int:
		return float64(v), true
	}
	return 0, false
}

// formatSeconds prints a duration in seconds the way people read them:
// 2.377s, 1m23s, 3h4m.
func formatSeconds(sec float64) string {
	if math.IsNaN(sec) || sec < 0 {
		return "-"
	}
	if sec < 60 {
		return strconv.FormatFloat(sec, 'f', 3, 64) + "s"
	}
	d := time.Duration(sec * float64(time.Second))
	if d < time.Hour {
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// formatBytes prints a byte count in binary units.
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f, i := float64(n), -1
	for f >= unit && i < 4 {
		f /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", f, "KMGTP"[i])
}

// sortedKeys returns m's keys in order, for stable output.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
