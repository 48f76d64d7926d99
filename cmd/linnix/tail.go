package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
	"github.com/linnix-os/otelcol-linnix/internal/insightsapi"
)

const (
	outputCompact = "compact"
	outputJSON    = "json"
)

func newTailCommand(o *options) *cobra.Command {
	var (
		f      eventFilter
		types  []string
		output string
		file   string
	)
	cmd := &cobra.Command{
		Use:   "tail",
		Short: "Print one line per fork, exec, exit and incident as they happen",
		Example: `  linnix tail
  linnix tail --type exec,exit --exe python3
  linnix tail --type incident --severity warning
  linnix tail -o json --replay 100 | jq .
  linnix tail --file linnix-events.jsonl`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, t := range types {
				f.Types = append(f.Types, insightsapi.EventType(t))
			}
			if err := f.validate(); err != nil {
				return usageError{err}
			}
			if output != outputCompact && output != outputJSON {
				return usageError{fmt.Errorf("-o: must be %s or %s, got %q", outputCompact, outputJSON, output)}
			}
			w := bufio.NewWriter(o.stdout)
			defer w.Flush()
			p := eventPrinter{w: w, warn: o.stderr, json: output == outputJSON, styles: o.styles()}
			if file != "" {
				return tailFile(o, file, f, p)
			}
			return o.client().Events(cmd.Context(), f, p.print)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&output, "output", "o", outputCompact, "output format: compact (one line per event) or json (one insights API event per line)")
	fl.StringSliceVar(&types, "type", nil, "only these types: fork, exec, exit, incident (comma-separated)")
	fl.StringVar(&f.Executable, "exe", "", "only this executable name (process.executable.name, exact)")
	fl.Int64Var(&f.PID, "pid", 0, "only this process id")
	fl.StringVar(&f.Container, "container", "", "only this container id, or a prefix of it")
	fl.StringVar(&f.Severity, "severity", "", "only incidents at or above info, warning or critical")
	fl.IntVar(&f.Replay, "replay", 0, "first print up to N records the collector retained")
	fl.StringVar(&file, "file", "", "read the file exporter's output (OTLP-JSON lines) instead of the API; - reads stdin")
	return cmd
}

func (f eventFilter) validate() error {
	for _, t := range f.Types {
		switch t {
		case insightsapi.EventFork, insightsapi.EventExec, insightsapi.EventExit, insightsapi.EventIncident:
		default:
			return fmt.Errorf("--type: unknown type %q: use fork, exec, exit or incident", t)
		}
	}
	if f.Severity != "" && contract.SeverityRank(f.Severity) < 0 {
		return fmt.Errorf("--severity: must be one of %s, got %q", strings.Join(contract.Severities, ", "), f.Severity)
	}
	if f.Replay < 0 {
		return fmt.Errorf("--replay: must not be negative, got %d", f.Replay)
	}
	return nil
}

// eventPrinter writes stream messages as tail lines or JSON lines. A line
// is flushed as soon as it is written: tail is watched live.
type eventPrinter struct {
	w      *bufio.Writer
	warn   io.Writer
	json   bool
	styles styles
}

func (p eventPrinter) print(it insightsapi.StreamItem) error {
	switch {
	case it.Event != nil:
		if p.json {
			if err := writeEventJSON(p.w, *it.Event); err != nil {
				return err
			}
		} else {
			fmt.Fprintln(p.w, formatEvent(*it.Event, p.styles))
		}
	case it.Dropped != nil:
		// In JSON the output is data for another program: the warning
		// goes to stderr, where a person sees it.
		if p.json {
			if err := p.w.Flush(); err != nil {
				return err
			}
			fmt.Fprintln(p.warn, formatDropped(*it.Dropped, p.styles))
		} else {
			fmt.Fprintln(p.w, formatDropped(*it.Dropped, p.styles))
		}
	}
	return p.w.Flush()
}

func tailFile(o *options, path string, f eventFilter, p eventPrinter) error {
	r := o.stdin
	if path != "-" {
		fh, err := os.Open(path)
		if err != nil {
			return err
		}
		defer fh.Close()
		r = fh
	}
	// A file is printed at once: flush only at the end.
	return readFileEvents(r, o.stderr, func(e insightsapi.Event) error {
		if !f.match(e) {
			return nil
		}
		if p.json {
			return writeEventJSON(p.w, e)
		}
		_, err := fmt.Fprintln(p.w, formatEvent(e, p.styles))
		return err
	})
}
