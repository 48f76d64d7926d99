package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/muesli/termenv"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
	"github.com/linnix-os/otelcol-linnix/internal/insightsapi"
)

var ansiEscape = regexp.MustCompile("\x1b\\[[0-9;]*m")

// at is a fixed instant printed in local time, as linnix prints it.
var at = time.Date(2026, 11, 29, 10, 0, 0, 123e6, time.UTC)

func clock(t time.Time) string { return t.Local().Format("15:04:05.000") }

// sampleLogs builds records shaped as docs/records.md describes them: an
// exec, a failing exit, a killed exit in a container, and an incident.
func sampleLogs() plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr(contract.HostName, "web-3")
	rl.Resource().Attributes().PutStr(contract.OSType, "linux")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(contract.ScopeReceiver)
	rec := func(event string, ts time.Time, body string) pcommon.Map {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetEventName(event)
		lr.SetTimestamp(pcommon.NewTimestampFromTime(ts))
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.Body().SetStr(body)
		return lr.Attributes()
	}
	a := rec(contract.EventExec, at, "exec /usr/bin/python3 pid 4412 ppid 4400 uid 1000")
	a.PutInt(contract.ProcessPID, 4412)
	a.PutInt(contract.ProcessParentPID, 4400)
	a.PutStr(contract.ProcessExecutableName, "python3")
	a.PutStr(contract.ProcessExecutablePath, "/usr/bin/python3")
	a.PutStr(contract.ProcessCommand, "python3")
	args := a.PutEmptySlice(contract.ProcessCommandArgs)
	for _, s := range []string{"python3", "job.py", "--password=***"} {
		args.AppendEmpty().SetStr(s)
	}
	a.PutInt(contract.ProcessUserID, 1000)

	a = rec(contract.EventExit, at.Add(2377*time.Millisecond), "exit python3 pid 4412 code 1")
	a.PutInt(contract.ProcessPID, 4412)
	a.PutInt(contract.ProcessParentPID, 4400)
	a.PutStr(contract.ProcessExecutableName, "python3")
	a.PutInt(contract.ProcessExitCode, 1)
	a.PutDouble(contract.ProcessLifetime, 2.377)

	a = rec(contract.EventExit, at.Add(3*time.Second), "exit java pid 8821 killed by signal 9")
	a.PutInt(contract.ProcessPID, 8821)
	a.PutInt(contract.ProcessParentPID, 1)
	a.PutStr(contract.ProcessExecutableName, "java")
	a.PutInt(contract.ProcessExitCode, 137)
	a.PutInt(contract.ProcessExitSignal, 9)
	a.PutBool(contract.OOMKilled, true)
	a.PutDouble(contract.ProcessLifetime, 600)
	a.PutStr(contract.ContainerID, "3f2a9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b")

	rl = ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr(contract.HostName, "web-3")
	sl = rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(contract.ScopeProcessor)
	a = rec(contract.EventIncident, at.Add(5*time.Second), "5190 processes forked in 5s on web-3 (1038/s)")
	a.PutStr(contract.IncidentID, "047e83a903603901")
	a.PutStr(contract.IncidentRule, "fork_storm")
	a.PutStr(contract.IncidentKind, "rate")
	a.PutStr(contract.IncidentSeverity, contract.SeverityCritical)
	a.PutStr(contract.IncidentState, contract.StateFiring)
	a.PutStr(contract.IncidentStarted, at.Format(time.RFC3339))
	ev := a.PutEmptyMap(contract.IncidentEvidence)
	ev.PutInt("count", 5190)
	ev.PutInt("window_seconds", 5)
	return ld
}

// sampleEvents are sampleLogs as the insights API streams them.
func sampleEvents(t *testing.T) []insightsapi.Event {
	t.Helper()
	evs := eventsOf(sampleLogs())
	if len(evs) != 4 {
		t.Fatalf("eventsOf gave %d events, want 4", len(evs))
	}
	return evs
}

func TestCompactLinesSayWhatHappened(t *testing.T) {
	s := stylesWithProfile(termenv.Ascii)
	evs := sampleEvents(t)
	fork := insightsapi.Event{Time: at, Type: insightsapi.EventFork, PID: 4413, PPID: 4412, Executable: "bash"}
	want := []struct {
		e    insightsapi.Event
		line string
	}{
		{fork, clock(at) + " fork     pid 4413 ppid 4412 bash"},
		{evs[0], clock(at) + " exec     pid 4412 ppid 4400 python3 job.py --password=***"},
		{evs[1], clock(at.Add(2377*time.Millisecond)) + " exit     pid 4412 python3 code 1, after 2.377s"},
		{evs[2], clock(at.Add(3*time.Second)) + " exit     pid 8821 java killed by signal 9, OOM-killed, after 10m00s [3f2a9c0d1e2f]"},
		{evs[3], clock(at.Add(5*time.Second)) + " incident CRITICAL fork_storm firing 5190 processes forked in 5s on web-3 (1038/s) [047e83a903603901]"},
	}
	for _, w := range want {
		if got := formatEvent(w.e, s); got != w.line {
			t.Errorf("formatEvent(%s)\n got %q\nwant %q", w.e.Type, got, w.line)
		}
	}
}

func TestColourMarksTheTypeAndNoColourPrintsPlainText(t *testing.T) {
	evs := sampleEvents(t)
	plain := stylesWithProfile(termenv.Ascii)
	colour := stylesWithProfile(termenv.ANSI256)
	fork := insightsapi.Event{Time: at, Type: insightsapi.EventFork, PID: 4413, PPID: 4412, Executable: "bash"}
	codes := map[insightsapi.EventType]string{}
	for _, e := range append(evs, fork) {
		p, c := formatEvent(e, plain), formatEvent(e, colour)
		if ansiEscape.MatchString(p) {
			t.Errorf("plain line has escapes: %q", p)
		}
		if stripped := ansiEscape.ReplaceAllString(c, ""); stripped != p {
			t.Errorf("colour changes the text:\n%q\n%q", stripped, p)
		}
		// The type word itself is coloured.
		m := regexp.MustCompile("(\x1b\\[[0-9;]*m)" + string(e.Type)).FindStringSubmatch(c)
		if m == nil {
			t.Fatalf("type %s is not coloured: %q", e.Type, c)
		}
		codes[e.Type] = m[1]
	}
	// Each type has its own colour (the exits here both failed).
	seen := map[string]insightsapi.EventType{}
	for typ, code := range codes {
		if other, dup := seen[code]; dup {
			t.Errorf("%s and %s share the colour %q", typ, other, code)
		}
		seen[code] = typ
	}
}

func TestNoColorFlagAndPipesGivePlainText(t *testing.T) {
	path := writeOTLPFile(t, sampleLogs())
	for _, args := range [][]string{{"tail", "--file", path}, {"tail", "--file", path, "--no-color"}} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), args, nil, &out, &errOut); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut.String())
		}
		if ansiEscape.Match(out.Bytes()) {
			t.Errorf("%v printed escapes to a pipe:\n%s", args, out.String())
		}
	}
}

func TestJSONOutputIsOneInsightsEventPerLine(t *testing.T) {
	var b bytes.Buffer
	for _, e := range sampleEvents(t) {
		if err := writeEventJSON(&b, e); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines:\n%s", len(lines), b.String())
	}
	var exit insightsapi.Event
	if err := json.Unmarshal([]byte(lines[1]), &exit); err != nil {
		t.Fatal(err)
	}
	if exit.Type != insightsapi.EventExit || exit.PID != 4412 || exit.Executable != "python3" || !exit.Time.Equal(at.Add(2377*time.Millisecond)) {
		t.Errorf("exit event = %+v", exit)
	}
	if code, _ := intAttr(exit.Attributes, contract.ProcessExitCode); code != 1 {
		t.Errorf("exit code attribute = %v", exit.Attributes[contract.ProcessExitCode])
	}
	if exit.Attributes[contract.HostName] != "web-3" {
		t.Errorf("resource attribute host.name missing: %v", exit.Attributes)
	}
}

func TestDroppedMessageIsAVisibleWarning(t *testing.T) {
	line := formatDropped(insightsapi.Dropped{Missed: 12, Total: 40}, stylesWithProfile(termenv.Ascii))
	if !strings.Contains(line, "missed 12 records (40 in total)") || !strings.HasPrefix(line, "!!") {
		t.Errorf("dropped line = %q", line)
	}
}

// writeOTLPFile writes ld as the file exporter does: one OTLP-JSON line.
func writeOTLPFile(t *testing.T, lds ...plog.Logs) string {
	t.Helper()
	var b bytes.Buffer
	var m plog.JSONMarshaler
	for _, ld := range lds {
		line, err := m.MarshalLogs(ld)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	path := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
