package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/linnix-os/otelcol-linnix/internal/insightsapi"
)

func newStatsCommand(o *options) *cobra.Command {
	return &cobra.Command{
		Use:     "stats",
		Short:   "Show what the collector has seen, its rates, its own CPU and memory, and its losses",
		Example: `  linnix stats`,
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := o.client()
			st, err := c.Stats(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprint(o.stdout, formatStats(st, c.base(), o.styles()))
			return nil
		},
	}
}

// lifecycleTypes are the event types in the order people read them.
var lifecycleTypes = []insightsapi.EventType{insightsapi.EventFork, insightsapi.EventExec, insightsapi.EventExit}

// formatStats renders the /v1/stats document.
func formatStats(st insightsapi.Stats, base string, s styles) string {
	var b strings.Builder
	row := func(name, format string, a ...any) {
		fmt.Fprintf(&b, "%s %s\n", s.bold.Render(fmt.Sprintf("%-11s", name)), fmt.Sprintf(format, a...))
	}
	row("API", "%s, exporter up %s (since %s)", base, st.Now.Sub(st.Started).Round(time.Second), st.Started.Local().Format(timeLayout))
	var recs []string
	for _, t := range append(lifecycleTypes, insightsapi.EventIncident) {
		recs = append(recs, fmt.Sprintf("%s %d", t, st.Records[t]))
	}
	row("Records", "%s", strings.Join(recs, "  "))
	row("Rates (1m)", "%s", formatRates(st.Rates))
	if st.SelfMetricsError != "" {
		row("Collector", "%s", s.warn.Render("own metrics unavailable: "+st.SelfMetricsError))
	} else {
		row("Collector", "CPU %.2f s in total, RSS %s", st.CollectorCPU, formatBytes(st.CollectorRSS))
		row("Lost", "%s", formatLost(st.Lost, s))
	}
	row("Incidents", "%d firing, %d resolved", st.Incidents.Firing, st.Incidents.Resolved)
	row("Processes", "%d in the latest samples", st.Processes)
	dropped := fmt.Sprintf("%d records dropped for slow clients", st.StreamDropped)
	if st.StreamDropped > 0 {
		dropped = s.warn.Render(dropped)
	}
	row("Stream", "%d clients, %s", st.StreamClients, dropped)
	return b.String()
}

func formatRates(rates map[insightsapi.EventType]float64) string {
	parts := make([]string, len(lifecycleTypes))
	for i, t := range lifecycleTypes {
		parts[i] = fmt.Sprintf("%s %.1f/s", t, rates[t])
	}
	return strings.Join(parts, "  ")
}

// formatLost lists the loss counters, highlighted when any is not zero.
func formatLost(lost map[string]float64, s styles) string {
	var total float64
	parts := make([]string, 0, len(lost))
	for _, k := range sortedKeys(lost) {
		total += lost[k]
		parts = append(parts, fmt.Sprintf("%s %.0f", k, lost[k]))
	}
	if total == 0 {
		return "none"
	}
	return s.warn.Render(strings.Join(parts, ", "))
}
