package ebpfprocessreceiver

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/filter"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver/internal/metadata"
	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver/internal/procstats"
	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver/internal/proctable"
)

// The hand-built per-process pdata must be exactly what the generated
// builder (record) makes of the same candidates, for every enable flag.

const testBoot = 5_000_000_000_000 // ns since boot of the synthetic "now"

// syntheticCandidates covers every branch of a process's resource and
// metrics: alive with and without a rate, under a CPU limit, in a
// container, exited, without an executable path or arguments.
func syntheticCandidates(n int) []candidate {
	var out []candidate
	for i := range n {
		pid := uint32(1000 + i)
		start := uint64(testBoot - 1_000_000_000*uint64(i%50+1))
		p := &procstats.Process{
			PID: pid, PPID: 1, EUID: uint32(i % 3), StartTime: start,
			CPUTotal: 3e9, CPUUser: 2e9 + uint64(i), CPUSystem: 1e9,
			MinorFaults: 100, MajorFaults: uint64(i), Voluntary: 7, Involuntary: uint64(i % 5),
			RSSBytes: uint64(i+1) << 20, VirtualBytes: uint64(i+1) << 24, Threads: int64(i%8 + 1),
			State: procstats.Sleeping, Comm: "worker",
		}
		cd := candidate{p: p, pid: pid, start: start, at: testBoot, cores: float64(i%10) / 10, userRate: 0.3, sysRate: 0.1,
			rss: p.RSSBytes, exeName: "worker", created: fmt.Sprintf("2026-11-30T00:00:%02dZ", i%60)}
		cd.info = proctable.Info{StartTime: start, ExePath: "/usr/bin/worker", Args: []string{"worker", "--n"},
			CgroupPath: "/system.slice/worker.service", CgroupLine: "4:memory:/system.slice/worker.service"}
		switch i % 6 {
		case 1:
			cd.cores = -1 // first sight, no rate
		case 2:
			cd.cpuLimit = 0.5
			cd.info.CgroupPath = "/docker/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
			cd.info.CgroupLine = "4:memory:" + cd.info.CgroupPath
		case 3:
			cd.info = proctable.Info{}
			cd.exeName = "kworker"
		case 4:
			cd.p = nil
			cd.exited = &exitedProcess{pid: pid, ppid: 2, euid: 0, start: start, at: testBoot - 1000,
				total: 5e8, user: 4e8, sys: 1e8, comm: "job", info: cd.info}
			cd.at = testBoot - 1000
		case 5:
			cd.cpuLimit = 2 // a limit, but no rate yet: no limit utilization
			cd.cores = -1
		}
		out = append(out, cd)
	}
	return out
}

func testCollector(t testing.TB, mbc metadata.MetricsBuilderConfig) *collector {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.MetricsBuilderConfig = mbc
	c := newCollector(cfg, receivertest.NewNopSettings(metadata.Type), nil, proctable.New(), nil, "host-1", wallClock{offset: 1_700_000_000_000_000_000})
	c.numCPU = 4
	return c
}

func byHand(c *collector, cands []candidate) pmetric.Metrics {
	md := pmetric.NewMetrics()
	for i := range cands {
		c.appendProcess(md.ResourceMetrics(), &cands[i], wallClock{offset: 1_700_000_000_000_000_000}, testBoot)
	}
	return md
}

func byBuilder(c *collector, cands []candidate) pmetric.Metrics {
	for _, cd := range cands {
		c.record(cd, wallClock{offset: 1_700_000_000_000_000_000}, testBoot)
	}
	return c.mb.Emit()
}

func requireSame(t *testing.T, mbc metadata.MetricsBuilderConfig) {
	t.Helper()
	c := testCollector(t, mbc)
	require.True(t, c.byHand)
	cands := syntheticCandidates(36)
	want, err := (&pmetric.JSONMarshaler{}).MarshalMetrics(byBuilder(c, cands))
	require.NoError(t, err)
	got, err := (&pmetric.JSONMarshaler{}).MarshalMetrics(byHand(c, cands))
	require.NoError(t, err)
	assert.JSONEq(t, string(want), string(got))
}

func TestByHandMatchesBuilder(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		requireSame(t, metadata.DefaultMetricsBuilderConfig())
		// Not the same by being empty: every candidate is there, the CPU
		// limit and its utilization where a rate is known.
		md := byHand(testCollector(t, metadata.DefaultMetricsBuilderConfig()), syntheticCandidates(36))
		require.Equal(t, 36, md.ResourceMetrics().Len())
		limited := md.ResourceMetrics().At(2)
		v, ok := limited.Resource().Attributes().Get("linnix.cgroup.cpu.limit")
		require.True(t, ok)
		assert.InDelta(t, 0.5, v.Double(), 1e-9)
		ms := limited.ScopeMetrics().At(0).Metrics()
		require.Equal(t, "linnix.process.cpu.limit_utilization", ms.At(1).Name())
		assert.InDelta(t, 0.2/0.5, ms.At(1).Gauge().DataPoints().At(0).DoubleValue(), 1e-9)
		// Every process of a container carries its id, the later ones
		// from what the first one's lookup left for the collection.
		for _, i := range []int{2, 8, 14} {
			id, ok := md.ResourceMetrics().At(i).Resource().Attributes().Get("container.id")
			require.True(t, ok, i)
			assert.Equal(t, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", id.Str(), i)
		}
		_, ok = md.ResourceMetrics().At(0).Resource().Attributes().Get("container.id")
		assert.False(t, ok, "a service's process is in no container")
	})
	t.Run("resource attributes off", func(t *testing.T) {
		mbc := metadata.DefaultMetricsBuilderConfig()
		ra := &mbc.ResourceAttributes
		ra.HostName.Enabled = false
		ra.ProcessCommand.Enabled = false
		ra.ProcessOwner.Enabled = false
		ra.LinnixCgroupCPULimit.Enabled = false
		ra.ContainerID.Enabled = false
		ra.ProcessLinuxCgroup.Enabled = false
		requireSame(t, mbc)
	})
	t.Run("metrics off", func(t *testing.T) {
		mbc := metadata.DefaultMetricsBuilderConfig()
		m := &mbc.Metrics
		m.ProcessCPUUtilization.Enabled = false
		m.ProcessPagingFaults.Enabled = false
		m.LinnixProcessCPULimitUtilization.Enabled = false
		m.ProcessUptime.Enabled = false
		requireSame(t, mbc)
	})
	t.Run("only live metrics", func(t *testing.T) {
		// Exited processes then have nothing to report: no resource.
		mbc := metadata.DefaultMetricsBuilderConfig()
		m := &mbc.Metrics
		m.ProcessCPUTime.Enabled = false
		m.ProcessCPUUtilization.Enabled = false
		m.LinnixProcessCPUCores.Enabled = false
		m.LinnixProcessCPULimitUtilization.Enabled = false
		m.ProcessThreadCount.Enabled = false
		requireSame(t, mbc)
	})
	t.Run("only rates", func(t *testing.T) {
		// Processes seen for the first time have nothing to report.
		mbc := metadata.DefaultMetricsBuilderConfig()
		m := &mbc.Metrics
		m.ProcessCPUTime.Enabled = false
		m.ProcessContextSwitches.Enabled = false
		m.ProcessMemoryUsage.Enabled = false
		m.ProcessMemoryVirtual.Enabled = false
		m.ProcessPagingFaults.Enabled = false
		m.ProcessThreadCount.Enabled = false
		m.ProcessUptime.Enabled = false
		requireSame(t, mbc)
	})
}

// A config using what only the generated builder implements keeps it.
func TestByHandDeclinesBuilderOnlyFeatures(t *testing.T) {
	mbc := metadata.DefaultMetricsBuilderConfig()
	assert.True(t, canBuildByHand(mbc))
	mbc.Metrics.ProcessCPUTime.EnabledAttributes = nil // user and system summed into one point
	assert.False(t, canBuildByHand(mbc))
	mbc = metadata.DefaultMetricsBuilderConfig()
	mbc.ResourceAttributes.ProcessOwner.MetricsExclude = []filter.Config{{Strict: "root"}}
	assert.False(t, canBuildByHand(mbc))
}

// BenchmarkProcessPdata compares the two ways of turning 1,000 processes'
// samples into pdata, without the kernel: the cost the hand-built path
// removes. pdata_copy is the floor under both: the hand-built metrics
// copied whole by pdata's own CopyTo, which allocates the same pdata nodes
// (strings are shared, not copied) and computes nothing.
func BenchmarkProcessPdata(b *testing.B) {
	cands := syntheticCandidates(1000)
	ref := byHand(testCollector(b, metadata.DefaultMetricsBuilderConfig()), cands)
	byCopy := func(*collector, []candidate) pmetric.Metrics {
		md := pmetric.NewMetrics()
		ref.CopyTo(md)
		return md
	}
	for _, bc := range []struct {
		name  string
		build func(*collector, []candidate) pmetric.Metrics
	}{{"builder", byBuilder}, {"by_hand", byHand}, {"pdata_copy", byCopy}} {
		b.Run(bc.name, func(b *testing.B) {
			c := testCollector(b, metadata.DefaultMetricsBuilderConfig())
			// Once untimed: the first, cold call stays out of the timing.
			bc.build(c, cands)
			b.ReportAllocs()
			for b.Loop() {
				if md := bc.build(c, cands); md.ResourceMetrics().Len() != len(cands) {
					b.Fatalf("%d resources", md.ResourceMetrics().Len())
				}
			}
		})
	}
}
