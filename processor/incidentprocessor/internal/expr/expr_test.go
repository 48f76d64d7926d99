package expr

import (
	"context"
	"testing"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

func TestLogCondition(t *testing.T) {
	set := componenttest.NewNopTelemetrySettings()
	c, err := NewLog(`attributes["process.executable.name"] == "make" and resource.attributes["host.name"] != "ci"`, set)
	if err != nil {
		t.Fatal(err)
	}
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("host.name", "h1")
	sl := rl.ScopeLogs().AppendEmpty()
	lr := sl.LogRecords().AppendEmpty()
	lr.Attributes().PutStr("process.executable.name", "make")
	if !c.Match(context.Background(), rl, sl, lr) {
		t.Error("make on h1 should match")
	}
	lr.Attributes().PutStr("process.executable.name", "bash")
	if c.Match(context.Background(), rl, sl, lr) {
		t.Error("bash should not match")
	}
	var none *Log
	if !none.Match(context.Background(), rl, sl, lr) {
		t.Error("no where matches everything")
	}
	if _, err := NewLog(`attributes["x"] >>= 1`, set); err == nil {
		t.Error("bad expression accepted")
	}
}

func TestDataPointCondition(t *testing.T) {
	set := componenttest.NewNopTelemetrySettings()
	c, err := NewDataPoint(`attributes["cpu.mode"] == "user" and resource.attributes["process.executable.name"] != "stress"`, set)
	if err != nil {
		t.Fatal(err)
	}
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("process.executable.name", "java")
	sm := rm.ScopeMetrics().AppendEmpty()
	m := sm.Metrics().AppendEmpty()
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.Attributes().PutStr("cpu.mode", "user")
	if !c.Match(context.Background(), rm, sm, m, dp) {
		t.Error("user point of java should match")
	}
	dp.Attributes().PutStr("cpu.mode", "system")
	if c.Match(context.Background(), rm, sm, m, dp) {
		t.Error("system point should not match")
	}
}
