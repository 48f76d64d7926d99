package engine

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRatioAgainstCgroupLimitAndLowHostMemory(t *testing.T) {
	e := newEngine(t, `
rules:
  - name: oom_risk
    kind: ratio
    metric: process.memory.usage
    of: cgroup_memory_limit
    value: 0.9
    host_available_below: 0.05
    summary: "{{.Exe}} pid {{.PID}} uses {{pct .Value}} of {{.LimitName}} ({{bytes .Limit}})"
`)
	ctx := context.Background()
	db, big, small := proc{pid: 1, exe: "db", limit: 1e9}, proc{pid: 2, exe: "big"}, proc{pid: 3, exe: "small"}
	avail := float64(8 << 30)
	observe := func(ts time.Time, dbRSS float64) {
		e.ObserveMetrics(ctx, hostMetrics("h1", ts, 16<<30, avail), ts)
		e.ObserveMetrics(ctx, metric(db, "process.memory.usage", ts, dbRSS), ts)
		e.ObserveMetrics(ctx, metric(big, "process.memory.usage", ts, 6<<30), ts)
		e.ObserveMetrics(ctx, metric(small, "process.memory.usage", ts, 1<<20), ts)
	}
	observe(t0, 8.99e8)
	require.Empty(t, e.Evaluate(t0))
	observe(t0.Add(time.Second), 9e8)
	incs := e.Evaluate(t0.Add(time.Second))
	require.Len(t, incs, 1)
	assert.Equal(t, "db pid 1 uses 90% of its cgroup memory limit (954 MiB)", incs[0].Summary)

	// The host runs low: the largest process is blamed, the small one not.
	avail = 0.04 * (16 << 30)
	observe(t0.Add(2*time.Second), 9e8)
	incs = e.Evaluate(t0.Add(2 * time.Second))
	require.Len(t, incs, 1)
	assert.Equal(t, int64(2), incs[0].Subject.PID)
	assert.Equal(t, "big pid 2 uses 38% of the host's memory (16 GiB)", incs[0].Summary)
}
