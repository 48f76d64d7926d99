package pdatautil

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

func TestAttributesReadWhateverTheirStoredType(t *testing.T) {
	m := pcommon.NewMap()
	m.PutInt("i", 42)
	m.PutDouble("d", 42.9)
	m.PutStr("s", "42")
	m.PutStr("word", "pid")
	for _, k := range []string{"i", "s"} {
		assert.EqualValues(t, 42, Int(m, k), k)
	}
	assert.EqualValues(t, 42, Int(m, "d"))
	assert.Zero(t, Int(m, "word"))
	assert.Zero(t, Int(m, "absent"))
	f, ok := Float(m, "d")
	assert.True(t, ok)
	assert.InDelta(t, 42.9, f, 1e-9)
	_, ok = Float(m, "word")
	assert.False(t, ok)
	assert.Equal(t, "42", Str(m, "i"))
	assert.Equal(t, "", Str(m, "absent"))
}

func TestNumberPointsOfGaugesAndSums(t *testing.T) {
	g := pmetric.NewMetric()
	g.SetEmptyGauge().DataPoints().AppendEmpty().SetIntValue(3)
	s := pmetric.NewMetric()
	s.SetEmptySum().DataPoints().AppendEmpty().SetDoubleValue(1.5)
	h := pmetric.NewMetric()
	h.SetEmptyHistogram().DataPoints().AppendEmpty()
	assert.InDelta(t, 3, PointValue(NumberPoints(g).At(0)), 0)
	assert.InDelta(t, 1.5, PointValue(NumberPoints(s).At(0)), 0)
	assert.Equal(t, 0, NumberPoints(h).Len())
}

func TestLogRecordsVisitsEveryRecordInOrder(t *testing.T) {
	ld := plog.NewLogs()
	for r := 0; r < 2; r++ {
		rl := ld.ResourceLogs().AppendEmpty()
		for s := 0; s < 2; s++ {
			sl := rl.ScopeLogs().AppendEmpty()
			for k := 0; k < 2; k++ {
				sl.LogRecords().AppendEmpty().Body().SetInt(int64(r*4 + s*2 + k))
			}
		}
	}
	var got []int64
	LogRecords(ld, func(_ plog.ResourceLogs, _ plog.ScopeLogs, lr plog.LogRecord) { got = append(got, lr.Body().Int()) })
	assert.Equal(t, []int64{0, 1, 2, 3, 4, 5, 6, 7}, got)
}

func TestSelectKeepsResourcesAndScopesOfKeptRecordsOnly(t *testing.T) {
	ld := plog.NewLogs()
	for r := 0; r < 3; r++ {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutInt("r", int64(r))
		sl := rl.ScopeLogs().AppendEmpty()
		sl.Scope().SetName("s")
		for k := 0; k < 2; k++ {
			sl.LogRecords().AppendEmpty().Body().SetInt(int64(r*2 + k))
		}
	}
	out := Select(ld, func(i, _, k int, _ plog.LogRecord) bool { return i != 1 && k == 1 })
	assert.Equal(t, 2, out.ResourceLogs().Len(), "the resource with nothing kept is left out")
	var got []int64
	LogRecords(out, func(rl plog.ResourceLogs, sl plog.ScopeLogs, lr plog.LogRecord) {
		assert.Equal(t, "s", sl.Scope().Name())
		assert.Equal(t, lr.Body().Int()/2, Int(rl.Resource().Attributes(), "r"))
		got = append(got, lr.Body().Int())
	})
	assert.Equal(t, []int64{1, 5}, got)
}
