package engine

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/rules"
)

// limitedProc is one collection of a process in a cgroup capped at limit
// cores: its cumulative CPU seconds and its share of the limit.
func limitedProc(pid int64, ts time.Time, limit, cpuSeconds, utilization float64) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	a := rm.Resource().Attributes()
	a.PutInt(contract.ProcessPID, pid)
	a.PutStr(contract.ProcessExecutableName, "burn")
	a.PutStr(contract.ProcessCreationTime, "2026-11-26T11:00:00Z")
	a.PutStr(contract.HostName, "h1")
	a.PutDouble(contract.CgroupCPULimit, limit)
	ms := rm.ScopeMetrics().AppendEmpty().Metrics()
	m := ms.AppendEmpty()
	m.SetName(contract.MetricCPUTime)
	sum := m.SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	dp := sum.DataPoints().AppendEmpty()
	dp.SetTimestamp(pcommon.NewTimestampFromTime(ts))
	dp.Attributes().PutStr(contract.ProcessCPUMode, "user")
	dp.SetDoubleValue(cpuSeconds)
	m = ms.AppendEmpty()
	m.SetName(contract.MetricCPULimitUtilization)
	dp = m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetTimestamp(pcommon.NewTimestampFromTime(ts))
	dp.SetDoubleValue(utilization)
	return md
}

// A process capped at 0.5 CPU that burns all of it reads 0.49 cores:
// cpu_spin (0.95 cores) never fires, cpu_limit_saturated does, naming the
// limit.
func TestCPULimitSaturatedCatchesACappedSpinner(t *testing.T) {
	e := engineOf(t, rules.Defaults(), 1000)
	ctx := context.Background()
	var got []Incident
	for s := 0; s <= 200; s += 10 {
		ts := t0.Add(time.Duration(s) * time.Second)
		e.ObserveMetrics(ctx, limitedProc(7, ts, 0.5, 0.49*float64(s), 0.98), ts)
		got = append(got, e.Evaluate(ts)...)
	}
	assert.Empty(t, ofRule(got, "cpu_spin"))
	sat := ofRule(got, "cpu_limit_saturated")
	require.Len(t, sat, 1)
	assert.Equal(t, "burn pid 7 used 98% of its 0.5-CPU limit for 3m", sat[0].Summary)
	assert.Equal(t, t0.Add(180*time.Second), sat[0].At)
	assert.Equal(t, 0.5, sat[0].Evidence["cpu_limit_cores"])
	assert.Equal(t, rules.SeverityWarning, sat[0].Severity)

	// Below 90% of the limit it resolves.
	ts := t0.Add(210 * time.Second)
	e.ObserveMetrics(ctx, limitedProc(7, ts, 0.5, 0.49*200+2, 0.4), ts)
	res := ofRule(e.Evaluate(ts), "cpu_limit_saturated")
	require.Len(t, res, 1)
	assert.Equal(t, Resolved, res[0].State)
}
