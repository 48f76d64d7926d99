package engine

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/rules"
)

func TestMaxTrackedEvictsLeastRecentlyUpdated(t *testing.T) {
	parsed, err := rules.Parse([]byte(cpuSpin))
	require.NoError(t, err)
	require.NoError(t, parsed[0].Validate(nil))
	e := engineOf(t, parsed, 3)
	ctx := context.Background()
	for pid := int64(1); pid <= 5; pid++ {
		e.ObserveMetrics(ctx, metric(proc{pid: pid, exe: "x"}, "linnix.process.cpu.cores", t0, 0.1), t0)
	}
	st := e.Stats()
	assert.Equal(t, 3, st.Tracked)
	assert.Equal(t, int64(2), st.Evictions)
}

func TestEvictionSparesFiringStates(t *testing.T) {
	parsed, err := rules.Parse([]byte(cpuSpin))
	require.NoError(t, err)
	parsed[0].For = 0
	e := engineOf(t, parsed, 2)
	ctx := context.Background()
	e.ObserveMetrics(ctx, metric(proc{pid: 1, exe: "hot"}, "linnix.process.cpu.cores", t0, 1), t0)
	require.Len(t, e.Evaluate(t0), 1)
	for pid := int64(2); pid <= 5; pid++ {
		e.ObserveMetrics(ctx, metric(proc{pid: pid, exe: "cold"}, "linnix.process.cpu.cores", t0, 0.1), t0)
	}
	// The firing state of pid 1, the oldest, survived the evictions and
	// still resolves.
	e.ObserveMetrics(ctx, metric(proc{pid: 1, exe: "hot"}, "linnix.process.cpu.cores", t0.Add(time.Second), 0.1), t0.Add(time.Second))
	res := e.Evaluate(t0.Add(time.Second))
	require.Len(t, res, 1)
	assert.Equal(t, Resolved, res[0].State)
	assert.Equal(t, int64(1), res[0].Subject.PID)
}
