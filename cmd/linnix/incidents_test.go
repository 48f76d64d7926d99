package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/muesli/termenv"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
	"github.com/linnix-os/otelcol-linnix/internal/insightsapi"
)

var (
	forkStorm = insightsapi.Incident{
		ID: "047e83a903603901", Rule: "fork_storm", Kind: "rate", Severity: contract.SeverityCritical,
		State: contract.StateFiring, Started: at, Updated: at.Add(5 * time.Second),
		Summary:    "5190 processes forked in 5s on web-3 (1038/s)",
		Confidence: 0.84, Host: "web-3",
		Evidence: []string{"count=5190", "rate_per_second=1038", "window_seconds=5"},
		Actions:  []string{"Find the parent: ps -eo ppid= | sort | uniq -c | sort -rn | head", "Cap it: set pids.max"},
		Analysis: &insightsapi.Analysis{
			Status: "ok", Class: "fork_bomb", Confidence: 0.8, Summary: "A shell loop forks without bound.",
			RootCause: "perl pid 16221 forks in a loop", Actions: []string{"kill 16221"},
			CitedFacts: []string{"f1", "f4"}, Model: "linnix-3b",
		},
	}
	cpuSpin = insightsapi.Incident{
		ID: "9a1b2c3d4e5f6071", Rule: "cpu_spin", Severity: contract.SeverityWarning,
		State: contract.StateResolved, Started: at.Add(-time.Hour),
		Summary:    "java pid 4412 sustained 97% CPU for 3m",
		Attributes: map[string]any{contract.ProcessPID: float64(4412), contract.ProcessExecutableName: "java"},
	}
)

// fakeAPI serves the insights API from fixed documents, as the exporter
// would, requiring token when it is not empty.
func fakeAPI(t *testing.T, token string) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc(insightsapi.PathIncidents, func(w http.ResponseWriter, _ *http.Request) {
		reply(w, 200, insightsapi.IncidentList{Incidents: []insightsapi.Incident{forkStorm, cpuSpin}})
	})
	mux.HandleFunc(insightsapi.PathIncident, func(w http.ResponseWriter, r *http.Request) {
		for _, inc := range []insightsapi.Incident{forkStorm, cpuSpin} {
			if r.URL.Path == insightsapi.PathIncident+inc.ID {
				reply(w, 200, inc)
				return
			}
		}
		reply(w, 404, insightsapi.Error{Error: "no such incident"})
	})
	// The stream sends what sampleEvents holds, a dropped notice after the
	// first record, then ends, as a collector shutting down does.
	mux.HandleFunc(insightsapi.PathEvents, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, ": heartbeat\n\n")
		for i, e := range sampleEvents(t) {
			if q := r.URL.Query().Get(insightsapi.QueryType); q != "" && !strings.Contains(q, string(e.Type)) {
				continue
			}
			data, _ := json.Marshal(e)
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", insightsapi.SSERecord, data)
			if i == 0 {
				fmt.Fprintf(w, "event: %s\ndata: {\"missed\":7,\"total\":7}\n\n", insightsapi.SSEDropped)
			}
		}
	})
	mux.HandleFunc(insightsapi.PathStats, func(w http.ResponseWriter, _ *http.Request) {
		reply(w, 200, sampleStats())
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token != "" && r.Header.Get(insightsapi.HeaderAuthorization) != "Bearer "+token {
			reply(w, 401, insightsapi.Error{Error: "unauthorized"})
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func addrOf(srv *httptest.Server) string { return strings.TrimPrefix(srv.URL, "http://") }

func TestIncidentTableListsEveryIncidentAligned(t *testing.T) {
	got := formatIncidentTable([]insightsapi.Incident{forkStorm, cpuSpin}, stylesWithProfile(termenv.Ascii))
	started := func(t time.Time) string { return t.Local().Format(timeLayout) }
	want := "" +
		"ID                RULE        SEVERITY  STATE     STARTED              SUMMARY\n" +
		"047e83a903603901  fork_storm  critical  firing    " + started(forkStorm.Started) + "  5190 processes forked in 5s on web-3 (1038/s)\n" +
		"9a1b2c3d4e5f6071  cpu_spin    warning   resolved  " + started(cpuSpin.Started) + "  java pid 4412 sustained 97% CPU for 3m\n"
	if got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
	if got := formatIncidentTable(nil, stylesWithProfile(termenv.Ascii)); !strings.HasPrefix(got, "No incidents") {
		t.Errorf("empty table = %q", got)
	}
}

func TestShowPrintsSummaryEvidenceActionsAndAnalysis(t *testing.T) {
	srv := fakeAPI(t, "")
	code, out, errOut := runLinnix(t, "", "--addr", addrOf(srv), "show", forkStorm.ID)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"Incident 047e83a903603901  fork_storm (rate)  CRITICAL  firing",
		"Host     web-3",
		"Confidence 0.84",
		"Summary\n  5190 processes forked in 5s on web-3 (1038/s)\n",
		"Evidence\n  count=5190\n  rate_per_second=1038\n  window_seconds=5\n",
		"Actions\n  1. Find the parent: ps -eo ppid= | sort | uniq -c | sort -rn | head\n  2. Cap it: set pids.max\n",
		"Analysis (by linnix-3b, ok, confidence 0.80, class fork_bomb)\n  A shell loop forks without bound.\n  Root cause: perl pid 16221 forks in a loop\n  Suggested:\n    1. kill 16221\n  Cited facts: f1, f4\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runLinnix(t, "", "--addr", addrOf(srv), "show", cpuSpin.ID)
	if code != 0 || !strings.Contains(out, "Process  java pid 4412") || strings.Contains(out, "Analysis") {
		t.Errorf("show of an incident with a subject and no analysis:\n%s", out)
	}
}

func TestIncidentsCommandPrintsTheTable(t *testing.T) {
	srv := fakeAPI(t, "")
	code, out, errOut := runLinnix(t, "", "--addr", addrOf(srv), "incidents")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.HasPrefix(out, "ID ") || !strings.Contains(out, forkStorm.ID) || !strings.Contains(out, cpuSpin.ID) {
		t.Errorf("incidents:\n%s", out)
	}
}

func TestAPIErrorsSayWhatToDo(t *testing.T) {
	srv := fakeAPI(t, "s3cret")
	// A port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()

	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"unreachable", []string{"--addr", closed, "incidents"},
			[]string{"cannot reach the linnix insights API at http://" + closed, "exporters: linnix_insights: endpoint", "examples/default.yaml", "--addr"}},
		{"no token", []string{"--addr", addrOf(srv), "stats"},
			[]string{"refused the token (401 Unauthorized)", "--token or LINNIX_TOKEN"}},
		{"wrong token", []string{"--addr", addrOf(srv), "--token", "guess", "incidents"},
			[]string{"refused the token (401 Unauthorized)"}},
		{"unknown incident", []string{"--addr", addrOf(srv), "--token", "s3cret", "show", "ffffffffffffffff"},
			[]string{`no incident with id "ffffffffffffffff"`, "linnix incidents"}},
	} {
		code, out, errOut := runLinnix(t, "", tc.args...)
		if code != exitError {
			t.Errorf("%s: exit %d, want %d", tc.name, code, exitError)
		}
		if out != "" {
			t.Errorf("%s: printed to stdout: %q", tc.name, out)
		}
		for _, w := range tc.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("%s: error lacks %q:\n%s", tc.name, w, errOut)
			}
		}
	}
	code, out, errOut := runLinnix(t, "", "--addr", addrOf(srv), "--token", "s3cret", "stats")
	if code != 0 || !strings.Contains(out, "fork 10") {
		t.Errorf("the right token: exit %d: %s%s", code, out, errOut)
	}
}

func TestEnvironmentSetsAddressAndToken(t *testing.T) {
	srv := fakeAPI(t, "s3cret")
	t.Setenv("LINNIX_ADDR", addrOf(srv))
	t.Setenv("LINNIX_TOKEN", "s3cret")
	code, out, errOut := runLinnix(t, "", "stats")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("API         %s", srv.URL)) {
		t.Errorf("exit %d: %s%s", code, out, errOut)
	}
}

func TestTailFollowsTheStreamAndWarnsOfDrops(t *testing.T) {
	srv := fakeAPI(t, "")
	code, out, errOut := runLinnix(t, "", "--addr", addrOf(srv), "tail")
	// The fake server ends the stream: tail says so and fails.
	if code != exitError || !strings.Contains(errOut, "closed the event stream") {
		t.Errorf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 5 || !strings.Contains(lines[0], " exec ") ||
		!strings.HasPrefix(lines[1], "!! missed 7 records (7 in total)") || !strings.Contains(lines[4], " incident ") {
		t.Errorf("tail:\n%s", out)
	}
	// In JSON the warning goes to stderr and stdout stays JSON.
	_, out, errOut = runLinnix(t, "", "--addr", addrOf(srv), "tail", "-o", "json")
	if strings.Contains(out, "missed") || !strings.Contains(errOut, "!! missed 7 records") || strings.Count(out, "\n") != 4 {
		t.Errorf("tail -o json: stdout:\n%s\nstderr:\n%s", out, errOut)
	}
}

func TestIncidentsFollowRedrawsOnIncidentRecords(t *testing.T) {
	srv := fakeAPI(t, "")
	_, out, errOut := runLinnix(t, "", "--addr", addrOf(srv), "incidents", "--follow")
	// One table at start, one more for the stream's one incident record.
	if n := strings.Count(out, "ID                RULE"); n != 2 {
		t.Errorf("%d tables:\n%s\n%s", n, out, errOut)
	}
}
