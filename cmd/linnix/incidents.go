package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
	"github.com/linnix-os/otelcol-linnix/internal/insightsapi"
)

func newIncidentsCommand(o *options) *cobra.Command {
	var follow bool
	cmd := &cobra.Command{
		Use:   "incidents",
		Short: "List the open and recently resolved incidents, newest first",
		Example: `  linnix incidents
  linnix incidents --follow`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := o.client()
			s := o.styles()
			list, err := c.Incidents(cmd.Context())
			if err != nil {
				return err
			}
			clear := follow && isTerminal(o.stdout)
			render := func(l insightsapi.IncidentList) {
				if clear {
					fmt.Fprint(o.stdout, "\x1b[H\x1b[2J")
				}
				fmt.Fprint(o.stdout, formatIncidentTable(l.Incidents, s))
			}
			render(list)
			if !follow {
				return nil
			}
			// Every incident record (firing, repeat, resolve) changes the
			// list: fetch it again and draw it anew.
			return c.Events(cmd.Context(), eventFilter{EventFilter: insightsapi.EventFilter{Types: []insightsapi.EventType{insightsapi.EventIncident}}}, func(it insightsapi.StreamItem) error {
				if it.Event == nil {
					return nil
				}
				l, err := c.Incidents(cmd.Context())
				if err != nil {
					if cmd.Context().Err() != nil {
						return nil
					}
					return err
				}
				if !clear {
					fmt.Fprintln(o.stdout)
				}
				render(l)
				return nil
			})
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep running and redraw the table on every incident record")
	return cmd
}

func newShowCommand(o *options) *cobra.Command {
	return &cobra.Command{
		Use:     "show ID",
		Short:   "Show one incident: summary, evidence, actions and the LLM's analysis",
		Example: `  linnix show 047e83a903603901`,
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			inc, err := o.client().Incident(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprint(o.stdout, formatIncident(inc, o.styles()))
			return nil
		},
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && isatty.IsTerminal(f.Fd())
}

const timeLayout = "2006-01-02 15:04:05"

// formatIncidentTable renders incidents as an aligned table, one per line.
func formatIncidentTable(incs []insightsapi.Incident, s styles) string {
	if len(incs) == 0 {
		return "No incidents: none open, none resolved recently.\n"
	}
	header := []string{"ID", "RULE", "SEVERITY", "STATE", "STARTED", "SUMMARY"}
	rows := make([][]string, len(incs))
	for i, inc := range incs {
		rows[i] = []string{inc.ID, inc.Rule, inc.Severity, inc.State, inc.Started.Local().Format(timeLayout), inc.Summary}
	}
	widths := make([]int, len(header))
	for i, h := range header {
		widths[i] = len(h)
	}
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], lipgloss.Width(c))
		}
	}
	var b strings.Builder
	cells := func(r []string, style func(col int, cell string) lipgloss.Style) {
		for i, c := range r {
			if i > 0 {
				b.WriteString("  ")
			}
			if i < len(r)-1 {
				c += strings.Repeat(" ", widths[i]-lipgloss.Width(c))
			}
			b.WriteString(style(i, strings.TrimSpace(c)).Render(c))
		}
		b.WriteByte('\n')
	}
	cells(header, func(int, string) lipgloss.Style { return s.bold })
	for i, r := range rows {
		cells(r, func(col int, cell string) lipgloss.Style {
			switch col {
			case 2:
				return s.severity(cell)
			case 3:
				if cell == contract.StateResolved {
					return s.dim
				}
				return s.bold
			}
			if incs[i].State == contract.StateResolved {
				return s.dim
			}
			return lipgloss.NewStyle()
		})
	}
	return b.String()
}

// formatIncident renders one incident for `linnix show`.
func formatIncident(inc insightsapi.Incident, s styles) string {
	var b strings.Builder
	line := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	section := func(title string) { b.WriteString("\n" + s.bold.Render(title) + "\n") }

	kind := ""
	if inc.Kind != "" {
		kind = " (" + inc.Kind + ")"
	}
	line("%s %s  %s%s  %s  %s", s.bold.Render("Incident"), inc.ID, inc.Rule, kind,
		s.severity(inc.Severity).Render(strings.ToUpper(inc.Severity)), inc.State)
	started := "Started  " + inc.Started.Local().Format(timeLayout+" MST")
	if !inc.Updated.IsZero() {
		started += ", updated " + inc.Updated.Local().Format(timeLayout)
	}
	line("%s", started)
	if inc.Host != "" {
		line("Host     %s", inc.Host)
	}
	if subj := subjectOf(inc.Attributes); subj != "" {
		line("Process  %s", subj)
	}
	if inc.Confidence > 0 {
		line("Confidence %.2f", inc.Confidence)
	}
	if inc.Repeat > 0 {
		line("Reported again %d times while it stayed active", inc.Repeat)
	}

	section("Summary")
	line("  %s", inc.Summary)
	if len(inc.Evidence) > 0 {
		section("Evidence")
		for _, e := range inc.Evidence {
			line("  %s", e)
		}
	}
	if len(inc.Actions) > 0 {
		section("Actions")
		for i, a := range inc.Actions {
			line("  %d. %s", i+1, a)
		}
	}
	if a := inc.Analysis; a != nil {
		head := "Analysis"
		var meta []string
		if a.Model != "" {
			meta = append(meta, "by "+a.Model)
		}
		meta = append(meta, a.Status)
		if a.Reason != "" {
			meta = append(meta, a.Reason)
		}
		if a.Confidence > 0 {
			meta = append(meta, fmt.Sprintf("confidence %.2f", a.Confidence))
		}
		if a.Class != "" {
			meta = append(meta, "class "+a.Class)
		}
		section(head + " (" + strings.Join(meta, ", ") + ")")
		if a.Summary != "" {
			line("  %s", a.Summary)
		}
		if a.RootCause != "" {
			line("  Root cause: %s", a.RootCause)
		}
		if len(a.Actions) > 0 {
			line("  Suggested:")
			for i, act := range a.Actions {
				line("    %d. %s", i+1, act)
			}
		}
		if len(a.CitedFacts) > 0 {
			line("  Cited facts: %s", strings.Join(a.CitedFacts, ", "))
		}
	}
	return b.String()
}

// subjectOf names the process an incident is about, when it has one.
func subjectOf(attrs map[string]any) string {
	pid, ok := intAttr(attrs, contract.ProcessPID)
	if !ok {
		return ""
	}
	s := fmt.Sprintf("%s pid %d", orDash(stringAttr(attrs, contract.ProcessExecutableName)), pid)
	if c := stringAttr(attrs, contract.ContainerID); c != "" {
		s += " in container " + shortID(c)
	}
	return s
}

// ago says how long ago t was, roughly.
func ago(now, t time.Time) string {
	d := now.Sub(t).Round(time.Second)
	if d < 0 {
		d = 0
	}
	return d.String() + " ago"
}
