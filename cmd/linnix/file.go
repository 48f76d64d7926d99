package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
	"github.com/linnix-os/otelcol-linnix/internal/insightsapi"
)

// readFileEvents reads the file exporter's output (one OTLP-JSON
// ExportLogsServiceRequest per line) and calls fn for each lifecycle record
// and incident, in file order, with the fields the insights API would give
// it. A line that is not OTLP-JSON logs is reported to warn and skipped, so
// a file cut mid-line, or one that also holds metrics, still reads.
func readFileEvents(r io.Reader, warn io.Writer, fn func(insightsapi.Event) error) error {
	sc := bufio.NewScanner(r)
	// The file exporter writes a whole batch on one line.
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	var um plog.JSONUnmarshaler
	var seq uint64
	for line := 1; sc.Scan(); line++ {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		ld, err := um.UnmarshalLogs(sc.Bytes())
		if err != nil {
			fmt.Fprintf(warn, "line %d: not an OTLP-JSON logs line, skipped: %v\n", line, err)
			continue
		}
		for _, e := range eventsOf(ld) {
			seq++
			e.Seq = seq
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading records: %w", err)
	}
	return nil
}

// eventsOf turns the lifecycle and incident records of ld into events;
// other records are left out.
func eventsOf(ld plog.Logs) []insightsapi.Event {
	var out []insightsapi.Event
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		rl := ld.ResourceLogs().At(i)
		res := rl.Resource().Attributes().AsRaw()
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			lrs := rl.ScopeLogs().At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				typ, ok := insightsapi.EventTypeOf(lr.EventName())
				if !ok {
					continue
				}
				attrs := make(map[string]any, len(res)+lr.Attributes().Len())
				for k, v := range res {
					attrs[k] = v
				}
				for k, v := range lr.Attributes().AsRaw() {
					attrs[k] = v
				}
				ts := lr.Timestamp().AsTime()
				if lr.Timestamp() == 0 {
					ts = lr.ObservedTimestamp().AsTime()
				}
				e := insightsapi.Event{
					Time:       ts.In(time.UTC),
					Type:       typ,
					Executable: stringAttr(attrs, contract.ProcessExecutableName),
					Command:    stringAttr(attrs, contract.ProcessCommand),
					Container:  stringAttr(attrs, contract.ContainerID),
					Body:       lr.Body().AsString(),
					Attributes: attrs,
				}
				e.PID, _ = intAttr(attrs, contract.ProcessPID)
				e.PPID, _ = intAttr(attrs, contract.ProcessParentPID)
				if typ == insightsapi.EventIncident {
					e.Severity = stringAttr(attrs, contract.IncidentSeverity)
				}
				out = append(out, e)
			}
		}
	}
	return out
}

// match applies the filter to an event read from a file, as the server
// does on its stream: every set field must match; a severity keeps only
// incidents at or above it.
func (f eventFilter) match(e insightsapi.Event) bool {
	if len(f.Types) > 0 {
		found := false
		for _, t := range f.Types {
			if t == e.Type {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if f.Executable != "" && e.Executable != f.Executable {
		return false
	}
	if f.PID != 0 && e.PID != f.PID {
		return false
	}
	if f.Container != "" && !strings.HasPrefix(e.Container, f.Container) {
		return false
	}
	if f.Severity != "" {
		if e.Type != insightsapi.EventIncident || contract.SeverityRank(e.Severity) < contract.SeverityRank(f.Severity) {
			return false
		}
	}
	return true
}
