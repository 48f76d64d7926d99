package linnixinsightsexporter

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
	"github.com/linnix-os/otelcol-linnix/internal/insightsapi"
)

// server is an exporter under test, started on a free loopback port, with
// a client of its API.
type server struct {
	*insights
	tel    *componenttest.Telemetry
	client *insightsapi.Client
	addr   string
}

func startServer(t testing.TB, mutate func(*Config)) *server {
	t.Helper()
	cfg := createDefaultConfig()
	cfg.NetAddr.Endpoint = "127.0.0.1:0"
	cfg.SelfMetricsEndpoint = ""
	if mutate != nil {
		mutate(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	tel := componenttest.NewTelemetry()
	e, err := newInsights(cfg, tel.NewTelemetrySettings())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		_ = tel.Shutdown(context.Background())
	})
	addr := addrString(e.addr)
	return &server{insights: e, tel: tel, addr: addr, client: insightsapi.NewClient(addr, string(cfg.AuthToken), nil)}
}

// logs is a batch of log records on one resource of host web-3.
type logs struct{ ld plog.Logs }

func newLogs() *logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr(contract.HostName, "web-3")
	rl.Resource().Attributes().PutStr(contract.OSType, "linux")
	rl.ScopeLogs().AppendEmpty()
	return &logs{ld}
}

func (l *logs) record(event string, body string) pcommon.Map {
	lr := l.ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().AppendEmpty()
	lr.SetEventName(event)
	lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	lr.Body().SetStr(body)
	return lr.Attributes()
}

// lifecycle adds a fork, exec or exit record of pid running exe.
func (l *logs) lifecycle(event string, pid int64, exe, container string) pcommon.Map {
	a := l.record(event, event+" "+exe)
	a.PutInt(contract.ProcessPID, pid)
	a.PutInt(contract.ProcessParentPID, 1)
	a.PutStr(contract.ProcessExecutableName, exe)
	a.PutStr(contract.ProcessExecutablePath, "/usr/bin/"+exe)
	a.PutStr(contract.ProcessCommand, exe)
	a.PutEmptySlice(contract.ProcessCommandArgs).FromRaw([]any{exe, "--password=***"})
	a.PutStr(contract.ProcessCreationTime, "2026-11-29T10:00:00Z")
	if container != "" {
		a.PutStr(contract.ContainerID, container)
	}
	return a
}

// incident adds an incident record.
func (l *logs) incident(id, rule, severity, state, summary string) pcommon.Map {
	a := l.record(contract.EventIncident, summary)
	a.PutStr(contract.IncidentID, id)
	a.PutStr(contract.IncidentRule, rule)
	a.PutStr(contract.IncidentKind, "rate")
	a.PutStr(contract.IncidentSeverity, severity)
	a.PutStr(contract.IncidentState, state)
	a.PutStr(contract.IncidentStarted, "2026-11-29T10:00:00Z")
	return a
}

// processMetrics is a batch of per-process metrics.
type processMetrics struct{ md pmetric.Metrics }

// add a process sampled at ts with cumulative user and system CPU seconds
// and RSS.
func (p *processMetrics) add(pid int64, exe string, ts time.Time, user, system float64, rss int64) pcommon.Map {
	if p.md == (pmetric.Metrics{}) {
		p.md = pmetric.NewMetrics()
	}
	rm := p.md.ResourceMetrics().AppendEmpty()
	res := rm.Resource().Attributes()
	res.PutInt(contract.ProcessPID, pid)
	res.PutInt(contract.ProcessParentPID, 1)
	res.PutStr(contract.ProcessExecutableName, exe)
	res.PutStr(contract.ProcessCommand, exe+" --serve")
	res.PutStr(contract.ProcessOwner, "www-data")
	res.PutStr(contract.ProcessCreationTime, "2026-11-29T10:00:00Z")
	res.PutStr(contract.ProcessLinuxCgroup, "0::/system.slice/"+exe+".service")
	ms := rm.ScopeMetrics().AppendEmpty().Metrics()
	ts64 := pcommon.NewTimestampFromTime(ts)
	cpu := ms.AppendEmpty()
	cpu.SetName(contract.MetricCPUTime)
	sum := cpu.SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	for mode, v := range map[string]float64{contract.CPUModeUser: user, contract.CPUModeSystem: system} {
		dp := sum.DataPoints().AppendEmpty()
		dp.SetTimestamp(ts64)
		dp.SetDoubleValue(v)
		dp.Attributes().PutStr(contract.ProcessCPUMode, mode)
	}
	for name, v := range map[string]int64{contract.MetricMemoryUsage: rss, contract.MetricMemoryVirtual: 4 * rss, contract.MetricThreadCount: 3} {
		m := ms.AppendEmpty()
		m.SetName(name)
		dp := m.SetEmptySum().DataPoints().AppendEmpty()
		dp.SetTimestamp(ts64)
		dp.SetIntValue(v)
	}
	return res
}
