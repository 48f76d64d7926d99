// Package alerttest holds what the alert exporters' tests share: incident
// records shaped as docs/records.md documents them, and a scriptable
// destination that counts only the requests it accepted.
package alerttest // import "github.com/linnix-os/otelcol-linnix/internal/alerttest"

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
)

// Incident describes one incident record.
type Incident struct {
	ID, Rule, Kind, Severity, State string
	Repeat                          bool
	Summary                         string
	PID                             int64
	Exe                             string
	Host                            string
	Started                         time.Time
	At                              time.Time
	// Analysis adds an LLM analysis (status ok).
	Analysis bool
}

// Firing is a first firing of a cpu_spin incident of a java process.
func Firing(id, severity string) Incident {
	started := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	return Incident{ID: id, Rule: "cpu_spin", Kind: "threshold", Severity: severity, State: contract.StateFiring,
		Summary: "java pid 4412 sustained 97% CPU for 3m", PID: 4412, Exe: "java", Host: "web-3",
		Started: started, At: started}
}

// Resolved is the resolve of i.
func (i Incident) Resolved() Incident {
	i.State, i.Repeat = contract.StateResolved, false
	i.Summary = "resolved: " + i.Summary
	i.At = i.Started.Add(5 * time.Minute)
	return i
}

// Repeated is a repeat of firing i.
func (i Incident) Repeated() Incident {
	i.Repeat = true
	i.At = i.Started.Add(time.Minute)
	return i
}

// Logs builds the incident records as the incident processor writes them,
// with a lifecycle record first (that exporters must skip).
func Logs(incs ...Incident) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr(contract.HostName, "web-3")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(contract.ScopeProcessor)
	life := sl.LogRecords().AppendEmpty()
	life.SetEventName(contract.EventExec)
	life.Attributes().PutInt(contract.ProcessPID, 1)
	for _, inc := range incs {
		Fill(sl.LogRecords().AppendEmpty(), inc)
	}
	return ld
}

// Fill writes one incident record.
func Fill(lr plog.LogRecord, inc Incident) {
	lr.SetEventName(contract.EventIncident)
	lr.SetTimestamp(pcommon.NewTimestampFromTime(inc.At))
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(inc.At))
	lr.Body().SetStr(inc.Summary)
	a := lr.Attributes()
	a.PutStr(contract.IncidentID, inc.ID)
	a.PutStr(contract.IncidentRule, inc.Rule)
	a.PutStr(contract.IncidentKind, inc.Kind)
	a.PutStr(contract.IncidentSeverity, inc.Severity)
	a.PutStr(contract.IncidentState, inc.State)
	a.PutStr(contract.IncidentStarted, inc.Started.UTC().Format(time.RFC3339Nano))
	a.PutDouble(contract.IncidentConfidence, 0.84)
	if inc.Repeat {
		a.PutBool(contract.IncidentRepeat, true)
	}
	ev := a.PutEmptyMap(contract.IncidentEvidence)
	ev.PutStr("metric", contract.MetricCPUCores)
	ev.PutDouble("value", 0.97)
	ev.PutDouble("threshold", 0.9)
	ev.PutInt("held_seconds", 180)
	acts := a.PutEmptySlice(contract.IncidentActions)
	acts.AppendEmpty().SetStr("Look at what it does: top -H -p 4412")
	acts.AppendEmpty().SetStr("Profile it: perf top -p 4412")
	if inc.PID != 0 {
		a.PutInt(contract.ProcessPID, inc.PID)
		a.PutInt(contract.ProcessParentPID, 1)
	}
	if inc.Exe != "" {
		a.PutStr(contract.ProcessExecutableName, inc.Exe)
		a.PutStr(contract.ProcessExecutablePath, "/usr/bin/"+inc.Exe)
	}
	if inc.Host != "" {
		a.PutStr(contract.HostName, inc.Host)
	}
	if inc.Analysis {
		a.PutStr(contract.AnalysisStatus, "ok")
		a.PutDouble(contract.AnalysisLatency, 1.42)
		a.PutStr(contract.AnalysisClass, "busy_loop")
		a.PutDouble(contract.AnalysisConfidence, 0.8)
		a.PutStr(contract.AnalysisSummary, "java spins on one core without doing I/O.")
		a.PutStr(contract.AnalysisRootCause, "A retry loop without backoff.")
		aa := a.PutEmptySlice(contract.AnalysisActions)
		aa.AppendEmpty().SetStr("jstack 4412")
		a.PutStr(contract.GenAIRequestModel, "linnix-3b")
	}
}

// Response is one scripted answer. Zero value: 200/202.
type Response struct {
	Status     int
	RetryAfter string
	// Stall holds the request until the client gives up (or this long).
	Stall time.Duration
}

// Request is one accepted request.
type Request struct {
	Header http.Header
	Body   []byte
	At     time.Time
}

// Server is a destination: it answers from its script, then accepts.
type Server struct {
	t        testing.TB
	addr     string
	okStatus int
	mu       sync.Mutex
	script   []Response
	// Reject, if set, answers 400 to the bodies it matches, always.
	Reject   func(body []byte) bool
	accepted []Request
	answered []Answer
	srv      *http.Server
}

// FreeAddr is a loopback address nothing listens on (connection refused).
func FreeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// NewServer makes a destination for addr that answers okStatus when it
// accepts; it listens only after Start (until then: connection refused).
func NewServer(t testing.TB, addr string, okStatus int) *Server {
	s := &Server{t: t, addr: addr, okStatus: okStatus}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	t.Cleanup(func() { _ = s.srv.Close() })
	return s
}

// Start listens.
func (s *Server) Start() {
	l, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.t.Fatal(err)
	}
	go func() { _ = s.srv.Serve(l) }()
}

// URL is http://addr + path.
func (s *Server) URL(path string) string { return "http://" + s.addr + path }

// Script appends answers.
func (s *Server) Script(rs ...Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, rs...)
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	s.mu.Lock()
	resp := Response{Status: s.okStatus}
	if s.Reject != nil && s.Reject(body) {
		resp = Response{Status: http.StatusBadRequest}
	} else if len(s.script) > 0 {
		resp = s.script[0]
		s.script = s.script[1:]
	}
	s.mu.Unlock()
	if resp.Stall > 0 {
		select {
		case <-r.Context().Done():
			s.record(0)
			return // the client gave up: not delivered
		case <-time.After(resp.Stall):
		}
	}
	if resp.Status == 0 {
		resp.Status = s.okStatus
	}
	if resp.RetryAfter != "" {
		w.Header().Set("Retry-After", resp.RetryAfter)
	}
	w.WriteHeader(resp.Status)
	if resp.Status == s.okStatus {
		_, _ = w.Write([]byte("ok"))
		s.mu.Lock()
		s.accepted = append(s.accepted, Request{Header: r.Header.Clone(), Body: body, At: time.Now()})
		s.answered = append(s.answered, Answer{Status: resp.Status, At: time.Now()})
		s.mu.Unlock()
		return
	}
	_, _ = w.Write([]byte(`{"status":"invalid event","message":"scripted"}`))
	s.record(resp.Status)
}

func (s *Server) record(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answered = append(s.answered, Answer{Status: status, At: time.Now()})
}

// Answer is the status a request got (0: stalled until the client left).
type Answer struct {
	Status int
	At     time.Time
}

// Accepted is every request answered with okStatus, in order.
func (s *Server) Accepted() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.accepted...)
}

// Answered is every answer given, in order.
func (s *Server) Answered() []Answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Answer(nil), s.answered...)
}

// WaitFor polls cond every 20 ms until it holds or limit passes.
func WaitFor(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("gave up waiting for %s after %v", what, limit)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Counts sums an int counter of tt by its one attribute's value.
func Counts(tt *componenttest.Telemetry, name string) map[string]int64 {
	out := map[string]int64{}
	m, err := tt.GetMetric(name)
	if err != nil {
		return out
	}
	sum, ok := m.Data.(metricdata.Sum[int64])
	if !ok {
		return out
	}
	for _, dp := range sum.DataPoints {
		key := ""
		for _, kv := range dp.Attributes.ToSlice() {
			if kv.Key != "exporter" {
				key = kv.Value.Emit()
			}
		}
		out[key] += dp.Value
	}
	return out
}
