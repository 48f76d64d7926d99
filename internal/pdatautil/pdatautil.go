// Package pdatautil reads the record contract out of pdata: attribute
// values whatever their stored type, number data points whatever their
// metric type, and every log record of a batch with its resource and scope.
// The processor and the exporters read records the same way through it.
package pdatautil

import (
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// Str is the attribute k as a string ("" when absent).
func Str(m pcommon.Map, k string) string {
	if v, ok := m.Get(k); ok {
		return v.AsString()
	}
	return ""
}

// Int is the attribute k as an integer, read from an int, a double or a
// decimal string: OTLP relays and transform processors may change the type
// (0 when absent or not a number).
func Int(m pcommon.Map, k string) int64 {
	v, ok := m.Get(k)
	if !ok {
		return 0
	}
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v.Int()
	case pcommon.ValueTypeDouble:
		return int64(v.Double())
	case pcommon.ValueTypeStr:
		n, _ := strconv.ParseInt(v.Str(), 10, 64)
		return n
	}
	return 0
}

// Float is the attribute k as a float, read from a double, an int or a
// decimal string; ok is false when absent or not a number.
func Float(m pcommon.Map, k string) (float64, bool) {
	v, ok := m.Get(k)
	if !ok {
		return 0, false
	}
	switch v.Type() {
	case pcommon.ValueTypeDouble:
		return v.Double(), true
	case pcommon.ValueTypeInt:
		return float64(v.Int()), true
	case pcommon.ValueTypeStr:
		f, err := strconv.ParseFloat(v.Str(), 64)
		return f, err == nil
	}
	return 0, false
}

// NumberPoints are the data points of a gauge or a sum; other metric types
// have none.
func NumberPoints(m pmetric.Metric) pmetric.NumberDataPointSlice {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return m.Gauge().DataPoints()
	case pmetric.MetricTypeSum:
		return m.Sum().DataPoints()
	}
	return pmetric.NewNumberDataPointSlice()
}

// PointValue is a number data point's value, int or double.
func PointValue(dp pmetric.NumberDataPoint) float64 {
	if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
		return float64(dp.IntValue())
	}
	return dp.DoubleValue()
}

// LogRecords calls fn for every log record of ld with its resource and
// scope, in order.
func LogRecords(ld plog.Logs, fn func(rl plog.ResourceLogs, sl plog.ScopeLogs, lr plog.LogRecord)) {
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		rl := ld.ResourceLogs().At(i)
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			sl := rl.ScopeLogs().At(j)
			for k := 0; k < sl.LogRecords().Len(); k++ {
				fn(rl, sl, sl.LogRecords().At(k))
			}
		}
	}
}

// Select copies the log records keep accepts, each under a copy of its
// resource and scope; keep gets the record's position (resource, scope,
// record index) and the record.
func Select(ld plog.Logs, keep func(i, j, k int, lr plog.LogRecord) bool) plog.Logs {
	out := plog.NewLogs()
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		rl := ld.ResourceLogs().At(i)
		var orl plog.ResourceLogs
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			sl := rl.ScopeLogs().At(j)
			var osl plog.ScopeLogs
			for k := 0; k < sl.LogRecords().Len(); k++ {
				lr := sl.LogRecords().At(k)
				if !keep(i, j, k, lr) {
					continue
				}
				if osl == (plog.ScopeLogs{}) {
					if orl == (plog.ResourceLogs{}) {
						orl = out.ResourceLogs().AppendEmpty()
						rl.Resource().CopyTo(orl.Resource())
						orl.SetSchemaUrl(rl.SchemaUrl())
					}
					osl = orl.ScopeLogs().AppendEmpty()
					sl.Scope().CopyTo(osl.Scope())
					osl.SetSchemaUrl(sl.SchemaUrl())
				}
				lr.CopyTo(osl.LogRecords().AppendEmpty())
			}
		}
	}
	return out
}
