// Package expr compiles a rule's where filter: OTTL conditions, the language
// of the collector's filter and transform processors, evaluated on a
// lifecycle log record or on a metric data point.
package expr

import (
	"context"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottldatapoint"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottllog"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/ottlfuncs"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// Log is a compiled condition on log records; nil matches everything.
type Log struct {
	seq ottl.ConditionSequence[*ottllog.TransformContext]
}

// NewLog compiles where for log records.
func NewLog(where string, set component.TelemetrySettings) (*Log, error) {
	if where == "" {
		return nil, nil
	}
	p, err := ottllog.NewParser(ottlfuncs.StandardConverters[*ottllog.TransformContext](), set)
	if err != nil {
		return nil, err
	}
	conds, err := p.ParseConditions([]string{where})
	if err != nil {
		return nil, err
	}
	seq := ottllog.NewConditionSequence(conds, set, ottllog.WithConditionSequenceErrorMode(ottl.IgnoreError))
	return &Log{seq: seq}, nil
}

// Match evaluates the condition on one record.
func (c *Log) Match(ctx context.Context, rl plog.ResourceLogs, sl plog.ScopeLogs, lr plog.LogRecord) bool {
	if c == nil {
		return true
	}
	ok, err := c.seq.Eval(ctx, ottllog.NewTransformContext(rl, sl, lr))
	return err == nil && ok
}

// DataPoint is a compiled condition on metric data points; nil matches
// everything.
type DataPoint struct {
	seq ottl.ConditionSequence[*ottldatapoint.TransformContext]
}

// NewDataPoint compiles where for data points.
func NewDataPoint(where string, set component.TelemetrySettings) (*DataPoint, error) {
	if where == "" {
		return nil, nil
	}
	p, err := ottldatapoint.NewParser(ottlfuncs.StandardConverters[*ottldatapoint.TransformContext](), set)
	if err != nil {
		return nil, err
	}
	conds, err := p.ParseConditions([]string{where})
	if err != nil {
		return nil, err
	}
	seq := ottldatapoint.NewConditionSequence(conds, set, ottldatapoint.WithConditionSequenceErrorMode(ottl.IgnoreError))
	return &DataPoint{seq: seq}, nil
}

// Match evaluates the condition on one data point.
func (c *DataPoint) Match(ctx context.Context, rm pmetric.ResourceMetrics, sm pmetric.ScopeMetrics, m pmetric.Metric, dp pmetric.NumberDataPoint) bool {
	if c == nil {
		return true
	}
	ok, err := c.seq.Eval(ctx, ottldatapoint.NewTransformContext(rm, sm, m, dp))
	return err == nil && ok
}
