package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/linnix-os/otelcol-linnix/internal/insightsapi"
)

func runLinnix(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestTailFilePrintsTheFileExportersRecords(t *testing.T) {
	path := writeOTLPFile(t, sampleLogs())
	code, out, errOut := runLinnix(t, "", "tail", "--file", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := []string{
		clock(at) + " exec     pid 4412 ppid 4400 python3 job.py --password=***",
		clock(at.Add(2377*time.Millisecond)) + " exit     pid 4412 python3 code 1, after 2.377s",
		clock(at.Add(3*time.Second)) + " exit     pid 8821 java killed by signal 9, OOM-killed, after 10m00s [3f2a9c0d1e2f]",
		clock(at.Add(5*time.Second)) + " incident CRITICAL fork_storm firing 5190 processes forked in 5s on web-3 (1038/s) [047e83a903603901]",
	}
	if got := strings.Split(strings.TrimSuffix(out, "\n"), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("tail --file:\n%s\nwant:\n%s", out, strings.Join(want, "\n"))
	}
}

func TestTailStdinReadsTheSameAsAFile(t *testing.T) {
	path := writeOTLPFile(t, sampleLogs(), sampleLogs())
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, fromFile, _ := runLinnix(t, "", "tail", "--file", path, "-o", "json")
	code, fromStdin, errOut := runLinnix(t, string(data), "tail", "--file", "-", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if fromFile != fromStdin {
		t.Errorf("stdin and file differ:\n%s\n---\n%s", fromStdin, fromFile)
	}
	lines := strings.Split(strings.TrimSuffix(fromStdin, "\n"), "\n")
	if len(lines) != 8 {
		t.Fatalf("%d JSON lines for two batches of 4 records:\n%s", len(lines), fromStdin)
	}
	for i, l := range lines {
		var e insightsapi.Event
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("line %d: %v: %s", i+1, err, l)
		}
		if e.Seq != uint64(i+1) {
			t.Errorf("line %d: seq %d", i+1, e.Seq)
		}
	}
}

func TestTailFileFiltersAsTheServerDoes(t *testing.T) {
	path := writeOTLPFile(t, sampleLogs())
	for _, tc := range []struct {
		args []string
		want []string // the pids (or the rule) of the lines printed
	}{
		{[]string{"--type", "exit"}, []string{"pid 4412", "pid 8821"}},
		{[]string{"--type", "exec,incident"}, []string{"pid 4412", "fork_storm"}},
		{[]string{"--exe", "java"}, []string{"pid 8821"}},
		{[]string{"--pid", "4412"}, []string{"pid 4412", "pid 4412"}},
		{[]string{"--container", "3f2a9c"}, []string{"pid 8821"}},
		{[]string{"--severity", "warning"}, []string{"fork_storm"}},
		{[]string{"--exe", "nothing"}, nil},
	} {
		code, out, errOut := runLinnix(t, "", append([]string{"tail", "--file", path}, tc.args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.args, code, errOut)
		}
		var lines []string
		if out != "" {
			lines = strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		}
		if len(lines) != len(tc.want) {
			t.Errorf("%v: %d lines, want %d:\n%s", tc.args, len(lines), len(tc.want), out)
			continue
		}
		for i, w := range tc.want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("%v: line %d = %q, want %q in it", tc.args, i+1, lines[i], w)
			}
		}
	}
}

func TestTailFileSkipsLinesThatAreNotLogs(t *testing.T) {
	path := writeOTLPFile(t, sampleLogs())
	data, _ := os.ReadFile(path)
	// A line cut short, as when the file is copied while being written.
	input := string(data) + string(data[:len(data)/2]) + "\n"
	code, out, errOut := runLinnix(t, input, "tail", "--file", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if n := strings.Count(out, "\n"); n != 4 {
		t.Errorf("%d lines from the whole batch, want 4:\n%s", n, out)
	}
	if !strings.Contains(errOut, "line 2: not an OTLP-JSON logs line, skipped") {
		t.Errorf("no warning for the cut line: %q", errOut)
	}
}

func TestTailRejectsBadFlagsWithUsageCode(t *testing.T) {
	for _, args := range [][]string{
		{"tail", "--type", "spawn"},
		{"tail", "--severity", "loud"},
		{"tail", "-o", "yaml"},
		{"tail", "extra"},
		{"nosuchcommand"},
	} {
		code, _, errOut := runLinnix(t, "", args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, exitUsage, errOut)
		}
	}
	code, _, errOut := runLinnix(t, "", "tail", "--file", "/nonexistent/linnix-events.jsonl")
	if code != exitError || !strings.Contains(errOut, "/nonexistent/linnix-events.jsonl") {
		t.Errorf("missing file: exit %d: %s", code, errOut)
	}
}
