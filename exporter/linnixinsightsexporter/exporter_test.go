package linnixinsightsexporter

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/linnix-os/otelcol-linnix/exporter/linnixinsightsexporter/internal/metadatatest"
	"github.com/linnix-os/otelcol-linnix/internal/contract"
	"github.com/linnix-os/otelcol-linnix/internal/insightsapi"
)

func TestWrongOrMissingTokenGets401WithAnErrorDocument(t *testing.T) {
	s := startServer(t, func(c *Config) { c.AuthToken = "s3cret" })
	for _, auth := range []string{"", "Bearer wrong", "s3cret", "Bearer s3cret2", "bearer s3cret"} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+s.addr+insightsapi.PathStats, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e insightsapi.Error
		err = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || err != nil || !strings.Contains(e.Error, "bearer token") {
			t.Errorf("Authorization %q: %d %+v %v", auth, resp.StatusCode, e, err)
		}
	}
	if _, err := insightsapi.NewClient(s.addr, "wrong", nil).Stats(context.Background()); !errors.Is(err, insightsapi.ErrUnauthorized) {
		t.Errorf("client with a wrong token: %v", err)
	}
	if _, err := insightsapi.NewClient(s.addr, "", nil).Events(context.Background(), insightsapi.EventFilter{}, 0); !errors.Is(err, insightsapi.ErrUnauthorized) {
		t.Errorf("event stream without a token: %v", err)
	}
	if _, err := s.client.Stats(context.Background()); err != nil {
		t.Errorf("client with the token: %v", err)
	}
}

func TestIncidentsListOpenFirstWithDetailAndNotFound(t *testing.T) {
	s := startServer(t, nil)
	ctx := context.Background()
	l := newLogs()
	a := l.incident("aaa", "fork_storm", contract.SeverityCritical, contract.StateFiring, "bash pid 9 forked 5190 times in 5s")
	a.PutEmptyMap(contract.IncidentEvidence).FromRaw(map[string]any{"count": 5190, "window_seconds": 5})
	a.PutEmptySlice(contract.IncidentActions).FromRaw([]any{"Inspect its tree: pstree -p 9"})
	a.PutDouble(contract.IncidentConfidence, 0.84)
	a.PutInt(contract.ProcessPID, 9)
	l.incident("bbb", "cpu_spin", contract.SeverityWarning, contract.StateFiring, "java pid 4412 sustained 97% CPU for 3m")
	if err := s.consumeLogs(ctx, l.ld); err != nil {
		t.Fatal(err)
	}
	// Later: a repeat of aaa with the LLM's analysis, and bbb resolves.
	l = newLogs()
	a = l.incident("aaa", "fork_storm", contract.SeverityCritical, contract.StateFiring, "bash pid 9 forked 9000 times in 5s")
	a.PutBool(contract.IncidentRepeat, true)
	a.PutStr(contract.AnalysisStatus, "ok")
	a.PutStr(contract.AnalysisClass, "fork_bomb")
	a.PutStr(contract.AnalysisRootCause, "a shell loop")
	a.PutEmptySlice(contract.AnalysisCitedFacts).FromRaw([]any{"f1", "f4"})
	a.PutStr(contract.GenAIRequestModel, "linnix-3b")
	a.PutInt(contract.ProcessPID, 9)
	l.incident("bbb", "cpu_spin", contract.SeverityInfo, contract.StateResolved, "resolved: java pid 4412 sustained 97% CPU for 3m")
	time.Sleep(time.Millisecond) // distinct update times
	if err := s.consumeLogs(ctx, l.ld); err != nil {
		t.Fatal(err)
	}

	list, err := s.client.Incidents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Incidents) != 2 || list.Incidents[0].ID != "aaa" || list.Incidents[1].ID != "bbb" {
		t.Fatalf("list = %+v", list)
	}
	if b := list.Incidents[1]; b.State != contract.StateResolved || !strings.HasPrefix(b.Summary, "resolved: ") {
		t.Errorf("bbb = %+v", b)
	}
	in, err := s.client.Incident(ctx, "aaa")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"count=5190", "window_seconds=5"}
	if in.Rule != "fork_storm" || in.Severity != contract.SeverityCritical || in.Repeat != 1 || in.Host != "web-3" ||
		in.Summary != "bash pid 9 forked 9000 times in 5s" || !in.Started.Equal(time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("aaa = %+v", in)
	}
	// The repeat carried no evidence or actions: the firing's are kept.
	if fmt.Sprint(in.Evidence) != fmt.Sprint(want) || len(in.Actions) != 1 {
		t.Errorf("evidence %v actions %v", in.Evidence, in.Actions)
	}
	if in.Analysis == nil || in.Analysis.Class != "fork_bomb" || in.Analysis.Model != "linnix-3b" || len(in.Analysis.CitedFacts) != 2 {
		t.Errorf("analysis = %+v", in.Analysis)
	}
	if in.Attributes[contract.ProcessPID] != float64(9) {
		t.Errorf("attributes = %v", in.Attributes)
	}
	var nf *insightsapi.NotFoundError
	if _, err := s.client.Incident(ctx, "nope"); !errors.As(err, &nf) || nf.ID != "nope" || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown id: %v", err)
	}
}

func TestResolvedIncidentsExpireAndTheCountIsBounded(t *testing.T) {
	s := startServer(t, func(c *Config) { c.MaxIncidents = 3; c.ResolvedRetention = time.Minute })
	now := time.Now()
	s.view.now = func() time.Time { return now }
	l := newLogs()
	for i := range 5 {
		l.incident(fmt.Sprint(i), "cpu_spin", contract.SeverityWarning, contract.StateFiring, "x")
	}
	_ = s.consumeLogs(context.Background(), l.ld)
	list, _ := s.client.Incidents(context.Background())
	if len(list.Incidents) != 3 {
		t.Fatalf("kept %d incidents, want max_incidents 3", len(list.Incidents))
	}
	l = newLogs()
	l.incident("4", "cpu_spin", contract.SeverityInfo, contract.StateResolved, "resolved: x")
	_ = s.consumeLogs(context.Background(), l.ld)
	now = now.Add(2 * time.Minute)
	list, _ = s.client.Incidents(context.Background())
	for _, in := range list.Incidents {
		if in.ID == "4" {
			t.Errorf("resolved incident kept past resolved_retention: %+v", in)
		}
	}
	if len(list.Incidents) != 2 {
		t.Errorf("incidents = %+v", list.Incidents)
	}
}

func TestProcessesSortLimitCoresAndExpiry(t *testing.T) {
	s := startServer(t, func(c *Config) { c.ProcessStaleAfter = 30 * time.Second })
	ctx := context.Background()
	now := time.Now()
	s.view.now = func() time.Time { return now }
	t0 := now.Add(-10 * time.Second)
	var m processMetrics
	m.add(100, "java", t0, 10, 2, 1<<30)
	m.add(200, "node", t0, 5, 0, 2<<30)
	m.add(300, "sleep", t0, 0, 0, 1<<20)
	_ = s.consumeMetrics(ctx, m.md)
	// 10 s later: java used 15 more CPU seconds (1.5 cores), node 2.
	m = processMetrics{}
	m.add(100, "java", now, 22, 5, 1<<30)
	m.add(200, "node", now, 7, 0, 2<<30)
	res := m.add(300, "sleep", now, 0, 0, 1<<20)
	res.PutInt(contract.CgroupMemoryLimit, 512<<20)
	_ = s.consumeMetrics(ctx, m.md)

	list, err := s.client.Processes(ctx, insightsapi.SortCPU, 2)
	if err != nil {
		t.Fatal(err)
	}
	if list.Total != 3 || len(list.Processes) != 2 || list.Processes[0].PID != 100 || list.Processes[1].PID != 200 {
		t.Fatalf("by cpu = %+v", list)
	}
	java := list.Processes[0]
	if d := java.CPUCores - 1.5; d > 1e-9 || d < -1e-9 {
		t.Errorf("java cores = %v, want 1.5 from cpu.time", java.CPUCores)
	}
	if java.CPUTime != 27 || java.MemoryRSS != 1<<30 || java.MemoryVirt != 4<<30 || java.Threads != 3 ||
		java.Owner != "www-data" || java.Command != "java --serve" || !java.Sampled.Equal(now.UTC()) || !list.Collected.Equal(now.UTC()) {
		t.Errorf("java = %+v, collected %v", java, list.Collected)
	}
	list, _ = s.client.Processes(ctx, insightsapi.SortMemory, 0)
	if len(list.Processes) != 3 || list.Processes[0].PID != 200 || list.Processes[2].PID != 300 || list.Processes[2].MemoryLimit != 512<<20 {
		t.Fatalf("by memory = %+v", list)
	}

	// linnix.process.cpu.cores, when present, is the receiver's own figure.
	m = processMetrics{}
	res = m.add(300, "sleep", now, 0, 0, 1<<20)
	cores := m.md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().AppendEmpty()
	cores.SetName(contract.MetricCPUCores)
	cores.SetEmptyGauge().DataPoints().AppendEmpty().SetDoubleValue(3.25)
	_ = s.consumeMetrics(ctx, m.md)
	_ = res
	if list, _ = s.client.Processes(ctx, "", 1); list.Processes[0].PID != 300 || list.Processes[0].CPUCores != 3.25 {
		t.Errorf("cores gauge not used: %+v", list.Processes)
	}

	// node exits: its sample goes at once. java goes stale.
	l := newLogs()
	l.lifecycle(contract.EventExit, 200, "node", "")
	_ = s.consumeLogs(ctx, l.ld)
	now = now.Add(20 * time.Second)
	m = processMetrics{}
	m.add(300, "sleep", now, 0, 0, 1<<20)
	_ = s.consumeMetrics(ctx, m.md)
	now = now.Add(15 * time.Second)
	list, _ = s.client.Processes(ctx, insightsapi.SortCPU, 10)
	if list.Total != 1 || list.Processes[0].PID != 300 {
		t.Errorf("after node's exit and java's silence: %+v", list.Processes)
	}

	_, err = s.client.Processes(ctx, "heat", 0)
	var se *insightsapi.StatusError
	if !errors.As(err, &se) || se.Code != http.StatusBadRequest || !strings.Contains(se.Message, "query parameter sort") {
		t.Errorf("bad sort: %v", err)
	}
}

func TestStatsCountRecordsRatesAndReadSelfMetrics(t *testing.T) {
	prom := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `# HELP otelcol_linnix_receiver_events_lost_total Lifecycle events lost
# TYPE otelcol_linnix_receiver_events_lost_total counter
otelcol_linnix_receiver_events_lost_total{otel_scope_name="x",reason="ring_full",receiver="ebpfprocess"} 12
otelcol_linnix_receiver_events_lost_total{otel_scope_name="x",reason="queue_full",receiver="ebpfprocess"} 3
otelcol_process_cpu_seconds_total{service_name="otelcol-linnix"} 4.5
otelcol_process_memory_rss_bytes{service_name="otelcol-linnix"} 7.3e+07
`)
	}))
	defer prom.Close()
	s := startServer(t, func(c *Config) { c.SelfMetricsEndpoint = prom.URL + "/metrics" })
	now := time.Now()
	s.view.now = func() time.Time { return now }
	s.view.started = now.Add(-time.Hour)
	l := newLogs()
	for i := range 30 {
		l.lifecycle(contract.EventExec, int64(1000+i), "true", "")
	}
	l.lifecycle(contract.EventFork, 999, "bash", "")
	l.incident("i", "cpu_spin", contract.SeverityWarning, contract.StateFiring, "x")
	l.record("something.else", "not kept")
	_ = s.consumeLogs(context.Background(), l.ld)
	var m processMetrics
	m.add(1, "init", now, 1, 1, 1<<20)
	_ = s.consumeMetrics(context.Background(), m.md)

	st, err := s.client.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Records[insightsapi.EventExec] != 30 || st.Records[insightsapi.EventFork] != 1 || st.Records[insightsapi.EventIncident] != 1 {
		t.Errorf("records = %v", st.Records)
	}
	if st.Rates[insightsapi.EventExec] != 0.5 {
		t.Errorf("exec rate = %v, want 30 over the last minute = 0.5/s", st.Rates[insightsapi.EventExec])
	}
	if st.Lost["ring_full"] != 12 || st.Lost["queue_full"] != 3 || st.CollectorCPU != 4.5 || st.CollectorRSS != 73000000 || st.SelfMetricsError != "" {
		t.Errorf("self metrics: lost %v cpu %v rss %v err %q", st.Lost, st.CollectorCPU, st.CollectorRSS, st.SelfMetricsError)
	}
	if st.Incidents.Firing != 1 || st.Processes != 1 {
		t.Errorf("stats = %+v", st)
	}
	// A minute later nothing was seen in the window.
	now = now.Add(61 * time.Second)
	if st, _ = s.client.Stats(context.Background()); st.Rates[insightsapi.EventExec] != 0 {
		t.Errorf("exec rate after a quiet minute = %v", st.Rates[insightsapi.EventExec])
	}
}

func TestStatsSayWhySelfMetricsAreMissing(t *testing.T) {
	s := startServer(t, func(c *Config) { c.SelfMetricsEndpoint = "http://127.0.0.1:1/metrics" })
	st, err := s.client.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(st.SelfMetricsError, "http://127.0.0.1:1/metrics") || !strings.Contains(st.SelfMetricsError, "self_metrics_endpoint") {
		t.Errorf("self_metrics_error = %q", st.SelfMetricsError)
	}
}

// collect reads the stream until cond holds or the time is up.
func collect(t *testing.T, ch <-chan insightsapi.StreamItem, limit time.Duration, cond func([]insightsapi.Event, uint64) bool) ([]insightsapi.Event, uint64) {
	t.Helper()
	var evs []insightsapi.Event
	var missed uint64
	timeout := time.After(limit)
	for !cond(evs, missed) {
		select {
		case it, ok := <-ch:
			if !ok {
				t.Fatalf("stream closed after %d records", len(evs))
			}
			switch {
			case it.Err != nil:
				t.Fatalf("stream: %v", it.Err)
			case it.Dropped != nil:
				missed += it.Dropped.Missed
				if it.Dropped.Total != missed {
					t.Errorf("dropped total %d, sum of missed %d", it.Dropped.Total, missed)
				}
			default:
				evs = append(evs, *it.Event)
			}
		case <-timeout:
			t.Fatalf("gave up after %v with %d records, %d missed", limit, len(evs), missed)
		}
	}
	return evs, missed
}

func TestEventStreamFiltersAndReplay(t *testing.T) {
	s := startServer(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l := newLogs()
	for i := range 10 {
		l.lifecycle(contract.EventExec, int64(100+i), "python3", "")
	}
	l.lifecycle(contract.EventFork, 7, "bash", "")
	_ = s.consumeLogs(ctx, l.ld)

	replayed, err := s.client.Events(ctx, insightsapi.EventFilter{Types: []insightsapi.EventType{insightsapi.EventExec}}, 3)
	if err != nil {
		t.Fatal(err)
	}
	evs, _ := collect(t, replayed, 10*time.Second, func(e []insightsapi.Event, _ uint64) bool { return len(e) == 3 })
	for i, e := range evs {
		if e.Type != insightsapi.EventExec || e.PID != int64(107+i) {
			t.Errorf("replayed[%d] = %+v, want the last 3 execs in order", i, e)
		}
	}
	first := evs[0]
	if first.Executable != "python3" || first.Command != "python3" || first.PPID != 1 || first.Body != "linnix.process.exec python3" ||
		first.Attributes[contract.HostName] != "web-3" || fmt.Sprint(first.Attributes[contract.ProcessCommandArgs]) != "[python3 --password=***]" {
		t.Errorf("event = %+v", first)
	}

	streams := map[string]insightsapi.EventFilter{
		"all":       {},
		"exe":       {Executable: "nginx"},
		"pid":       {PID: 42},
		"container": {Container: "3f2a"},
		"severity":  {Severity: contract.SeverityWarning},
		"types":     {Types: []insightsapi.EventType{insightsapi.EventExit, insightsapi.EventIncident}},
	}
	chans := map[string]<-chan insightsapi.StreamItem{}
	for name, f := range streams {
		if chans[name], err = s.client.Events(ctx, f, 0); err != nil {
			t.Fatal(err)
		}
	}
	waitClients(t, s, len(streams)+1)
	l = newLogs()
	l.lifecycle(contract.EventExec, 42, "nginx", "3f2a9c00")
	l.lifecycle(contract.EventExit, 43, "curl", "")
	l.incident("a", "cpu_spin", contract.SeverityInfo, contract.StateFiring, "info one")
	l.incident("b", "oom_risk", contract.SeverityCritical, contract.StateFiring, "critical one")
	_ = s.consumeLogs(ctx, l.ld)
	want := map[string]string{"all": "exec exit incident incident", "exe": "exec", "pid": "exec", "container": "exec",
		"severity": "incident", "types": "exit incident incident"}
	for name, ch := range chans {
		n := len(strings.Fields(want[name]))
		evs, _ := collect(t, ch, 10*time.Second, func(e []insightsapi.Event, _ uint64) bool { return len(e) == n })
		var got []string
		for _, e := range evs {
			got = append(got, string(e.Type))
		}
		if strings.Join(got, " ") != want[name] {
			t.Errorf("%s: got %v, want %s", name, got, want[name])
		}
		if name == "severity" && evs[0].Severity != contract.SeverityCritical {
			t.Errorf("severity filter passed %+v", evs[0])
		}
	}
	for q, param := range map[string]string{"type=spawn": "type", "pid=x": "pid", "severity=urgent": "severity", "replay=-1": "replay"} {
		resp, err := http.Get("http://" + s.addr + insightsapi.PathEvents + "?" + q)
		if err != nil {
			t.Fatal(err)
		}
		var e insightsapi.Error
		_ = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(e.Error, "query parameter "+param) {
			t.Errorf("%s: %d %q", q, resp.StatusCode, e.Error)
		}
	}
}

func waitClients(t *testing.T, s *server, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.view.hub.clientCount() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d stream clients, want %d", s.view.hub.clientCount(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A client that stops reading loses records, alone: it is told how many,
// the pipeline never waits, and a client that reads gets every record.
func TestSlowClientMissesRecordsAloneAndIsToldHowMany(t *testing.T) {
	s := startServer(t, func(c *Config) { c.StreamBuffer = 1000 })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slow, err := s.client.Events(ctx, insightsapi.EventFilter{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	fast, err := s.client.Events(ctx, insightsapi.EventFilter{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	waitClients(t, s, 2)

	// Batches of 100 exec records, each read by the fast client before
	// the next, while the slow client reads nothing: its buffer and the
	// socket fill, and the rest is dropped for it.
	const batches, per = 300, 100
	l := newLogs()
	for i := range per {
		l.lifecycle(contract.EventExec, int64(i+1), "worker", "")
	}
	var fastGot []insightsapi.Event
	for b := range batches {
		start := time.Now()
		if err := s.consumeLogs(ctx, l.ld); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 10*time.Second { // a blocked send would wait forever; 10 s is a stalled machine
			t.Fatalf("batch %d took %v: the pipeline waited for a client", b, d)
		}
		got, missed := collect(t, fast, 30*time.Second, func(e []insightsapi.Event, _ uint64) bool { return len(e) == per })
		if missed != 0 {
			t.Fatalf("the reading client missed %d records", missed)
		}
		fastGot = append(fastGot, got...)
	}
	for i, e := range fastGot {
		if e.Seq != uint64(i+1) {
			t.Fatalf("fast client's record %d has seq %d", i, e.Seq)
		}
	}
	dropped := s.view.hub.dropped.Load()
	if dropped == 0 {
		t.Fatal("the slow client dropped nothing: it cannot have held 30,000 records")
	}
	// Now the slow client reads: what it got and what it was told it
	// missed add up to every record, in order.
	got, missed := collect(t, slow, 60*time.Second, func(e []insightsapi.Event, m uint64) bool { return uint64(len(e))+m == batches*per })
	if missed != dropped {
		t.Errorf("slow client was told of %d missed records, the exporter counted %d", missed, dropped)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Seq <= got[i-1].Seq {
			t.Fatalf("slow client's records out of order at %d: %d after %d", i, got[i].Seq, got[i-1].Seq)
		}
	}
	st, err := s.client.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.StreamDropped != dropped || st.StreamClients != 2 {
		t.Errorf("stats: %d dropped %d clients, want %d and 2", st.StreamDropped, st.StreamClients, dropped)
	}
	metadatatest.AssertEqualLinnixInsightsStreamDropped(t, s.tel, []metricdata.DataPoint[int64]{{Value: int64(dropped)}}, metricdatatest.IgnoreTimestamp())
	t.Logf("slow client: %d received, %d missed of %d", len(got), missed, batches*per)
}

func TestHeartbeatsKeepAnIdleStreamAndShutdownEndsIt(t *testing.T) {
	s := startServer(t, func(c *Config) { c.Heartbeat = 20 * time.Millisecond })
	resp, err := http.Get("http://" + s.addr + insightsapi.PathEvents)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("content type %q", ct)
	}
	r := bufio.NewReader(resp.Body)
	beats := 0
	for beats < 3 {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == ": heartbeat\n" {
			beats++
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with an open stream: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		for {
			if _, err := r.ReadString('\n'); err != nil {
				done <- err
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream stayed open after shutdown")
	}
}

func TestUnixSocketServesTheAPI(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "insights.sock")
	s := startServer(t, func(c *Config) { c.NetAddr.Endpoint = unixScheme + sock })
	if s.addr != unixScheme+sock {
		t.Fatalf("listening on %s", s.addr)
	}
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket %v %v: want mode 0600", fi, err)
	}
	if _, err := s.client.Stats(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestEventDocumentDecodesAsTheAPIType(t *testing.T) {
	res := pcommon.NewMap()
	res.PutStr(contract.HostName, "web-3")
	res.PutStr("shadowed", "resource")
	attrs := pcommon.NewMap()
	attrs.PutStr("shadowed", "record")
	attrs.PutStr("tricky", "quote\" backslash\\ nl\n tab\t ctl\x01 bad\xff sep\u2028 <html> é")
	attrs.PutDouble("nan", 0)
	attrs.PutDouble("half", 0.5)
	attrs.PutBool("yes", true)
	attrs.PutEmptyBytes("raw").FromRaw([]byte{0, 1, 2})
	attrs.PutEmptyMap("nested").FromRaw(map[string]any{"n": int64(-3), "list": []any{"a", 1.5, nil}})
	ev := insightsapi.Event{Seq: 7, Time: time.Date(2026, 11, 29, 10, 0, 0, 123456789, time.UTC), Type: insightsapi.EventExec,
		PID: 4412, PPID: 4400, Executable: "python3", Command: "py \"x\"", Container: "3f2a", Body: "exec\npython3"}
	b := appendEvent(nil, &ev, res, attrs)
	var got insightsapi.Event
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%v:\n%s", err, b)
	}
	want, _ := json.Marshal(ev)
	var wantEv insightsapi.Event
	_ = json.Unmarshal(want, &wantEv)
	got.Attributes, wantEv.Attributes = nil, nil
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", wantEv) {
		t.Errorf("got %+v\nwant %+v", got, wantEv)
	}
	_ = json.Unmarshal(b, &got)
	a := got.Attributes
	if a["shadowed"] != "record" || a[contract.HostName] != "web-3" || a["tricky"] != "quote\" backslash\\ nl\n tab\t ctl\x01 bad\uFFFD sep\u2028 <html> é" ||
		a["half"] != 0.5 || a["yes"] != true || a["raw"] != "AAEC" || fmt.Sprint(a["nested"]) != "map[list:[a 1.5 <nil>] n:-3]" {
		t.Errorf("attributes = %#v", a)
	}
	if strings.ContainsAny(string(b), "\n\r") {
		t.Errorf("a raw newline would end the SSE data line: %q", b)
	}
}
