package ebpfprocessreceiver

import (
	"cmp"
	"os"
	"os/user"
	"path"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver"
	"golang.org/x/sys/unix"

	"github.com/linnix-os/otelcol-linnix/bpf"
	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver/internal/containerid"
	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver/internal/cpulimit"
	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver/internal/memlimit"
	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver/internal/metadata"
	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver/internal/procfilter"
	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver/internal/procstats"
	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver/internal/proctable"
)

// exitedProcess is what an exit record leaves for the next collection, so
// that a process living between two samples still has its CPU time reported.
type exitedProcess struct {
	pid, ppid, euid  uint32
	start, at        uint64 // CLOCK_BOOTTIME ns
	total, user, sys uint64 // CPU ns
	comm             string
	info             proctable.Info
}

// cpuMark is a process's CPU time at the previous collection, and its
// creation time, formatted once.
type cpuMark struct {
	start, at        uint64
	total, user, sys uint64
	created          string
}

// candidate is a process considered for one collection.
type candidate struct {
	p        *procstats.Process // nil for an exited process
	exited   *exitedProcess
	pid      uint32
	start    uint64
	at       uint64
	cores    float64 // -1: no previous sample to compute a rate from
	userRate float64 // user CPU seconds per second
	sysRate  float64
	rss      uint64
	info     proctable.Info
	exeName  string
	created  string  // process.creation.time
	cpuLimit float64 // cores; 0: no CPU limit
}

// cgroupLimitTTL is how long a cgroup's memory limit is reused: limits
// rarely change, and one collection asks for the same cgroups many times.
const cgroupLimitTTL = 5 * time.Second

// collector builds the metrics signal from the task iterator. collect runs
// on one goroutine; noteExit and noteFork are called from the lifecycle one.
type collector struct {
	cfg      *Config
	probe    *bpf.Probe
	table    *proctable.Table
	filter   *procfilter.Filter
	mb       *metadata.MetricsBuilder
	hostName string
	born     wallClock // shared with the logs, see lifecycle.born
	numCPU   float64
	pageSize uint64
	started  pcommon.Timestamp
	// cgroups answers linnix.cgroup.memory.limit; hostRoot is where
	// /proc/meminfo is read for the host memory metrics.
	cgroups  *memlimit.Cgroups
	hostRoot string
	// byCgroup holds, for one collection, the attributes derived from each
	// cgroup line: a host runs far fewer cgroups than processes.
	byCgroup map[string]cgroupResource
	// cpuLimits answers linnix.cgroup.cpu.limit; nil when neither it nor
	// linnix.process.cpu.limit_utilization is enabled, or no hierarchy
	// has the cpu controller.
	cpuLimits *cpulimit.Limits
	// byHand: per-process pdata is built directly (see appendProcess)
	// rather than through the generated builder; descs are the generated
	// metrics' names, descriptions and units it copies.
	byHand       bool
	descs        processMetricDescs
	scopeVersion string

	created atomic.Int64
	mu      sync.Mutex
	exited  []exitedProcess
	// exitsOver counts the exits past maxExited since the last
	// collection; over is that count for the latest collection, which
	// collectOnce reports.
	exitsOver int
	over      int

	// prev and next swap at each collection; both keep their buckets.
	prev, next map[uint32]cpuMark
	lastAt     uint64
	owners     map[uint32]string
	agg        procstats.Aggregator
	tasks      []bpf.TaskSample
	procs      []procstats.Process
	cands      []candidate
}

func newCollector(cfg *Config, set receiver.Settings, probe *bpf.Probe, table *proctable.Table, filter *procfilter.Filter, host string, born wallClock) *collector {
	c := &collector{
		cfg:      cfg,
		probe:    probe,
		table:    table,
		filter:   filter,
		mb:       metadata.NewMetricsBuilder(cfg.MetricsBuilderConfig, set),
		hostName: host,
		born:     born,
		numCPU:   float64(onlineCPUs()),
		pageSize: uint64(os.Getpagesize()),
		started:  pcommon.NewTimestampFromTime(time.Now()),
		cgroups:  memlimit.NewCgroups("/", cgroupLimitTTL),
		byCgroup: map[string]cgroupResource{},
		hostRoot: "/",
		prev:     map[uint32]cpuMark{},
		next:     map[uint32]cpuMark{},
		owners:   map[uint32]string{},

		byHand:       canBuildByHand(cfg.MetricsBuilderConfig),
		descs:        newProcessMetricDescs(set),
		scopeVersion: set.BuildInfo.Version,
	}
	if cfg.ResourceAttributes.LinnixCgroupCPULimit.Enabled || cfg.Metrics.LinnixProcessCPULimitUtilization.Enabled {
		if l := cpulimit.New("/"); l.Available() {
			c.cpuLimits = l
		}
	}
	return c
}

func (c *collector) noteFork() { c.created.Add(1) }

// maxExited bounds the processes that exited between two collections and
// are reported at the next one (~170 B each): a storm on a large host exits
// tens of thousands a second. Past it, a process's CPU time is in its exit
// record only; with top_n, so few-CPU processes would not be reported anyway.
const maxExited = 32768

func (c *collector) noteExit(e *bpf.Event, info proctable.Info) {
	user, sys := procstats.Split(e.CPURuntime, e.CPUUser, e.CPUSystem)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.exited) >= maxExited {
		c.exitsOver++
		return
	}
	c.exited = append(c.exited, exitedProcess{
		pid: e.PID, ppid: e.PPID, euid: e.EUID, start: e.StartTime, at: e.Timestamp,
		total: e.CPURuntime, user: user, sys: sys, comm: e.Comm, info: info,
	})
}

// collect samples every task once and returns the metrics of this collection.
func (c *collector) collect() (pmetric.Metrics, error) {
	var err error
	c.tasks, err = c.probe.ReadTasks(c.tasks)
	if err != nil {
		return pmetric.NewMetrics(), err
	}
	now := bootNow()
	clock := newWallClock()
	clear(c.byCgroup) // memory limits are re-read on memlimit's own schedule
	c.procs = c.agg.Aggregate(c.tasks, c.pageSize, c.procs[:0])
	c.mu.Lock()
	exited := c.exited
	c.exited = nil
	c.over, c.exitsOver = c.exitsOver, 0
	c.mu.Unlock()

	// One scan of the cpu hierarchy per collection, at the instant of the
	// task sample, whatever the number of processes.
	var limits map[uint32]float64
	if c.cpuLimits != nil {
		limits = c.cpuLimits.Scan()
	}
	states := map[procstats.State]int64{}
	cands := c.cands[:0]
	var gone map[uint32]uint64
	if len(exited) > 0 {
		gone = make(map[uint32]uint64, len(exited))
		for i := range exited {
			gone[exited[i].pid] = exited[i].start
		}
	}
	next := c.next
	clear(next)
	for i := range c.procs {
		p := &c.procs[i]
		states[p.State]++
		if p.Kernel {
			continue
		}
		mark := cpuMark{start: p.StartTime, at: now, total: p.CPUTotal, user: p.CPUUser, sys: p.CPUSystem}
		if m, ok := c.prev[p.PID]; ok && m.start == p.StartTime {
			mark.created = m.created
		} else {
			mark.created = c.born.createdAt(p.StartTime)
		}
		next[p.PID] = mark
		if start, ok := gone[p.PID]; ok && start == p.StartTime {
			continue // a zombie whose exit record is reported below
		}
		cd := candidate{p: p, pid: p.PID, start: p.StartTime, at: now, rss: p.RSSBytes, created: mark.created, cpuLimit: limits[p.PID]}
		c.rate(&cd, mark)
		cd.info, _ = c.table.Get(p.PID, p.StartTime)
		cd.exeName = exeName(cd.info, p.Comm)
		if c.keep(&cd, p.EUID) {
			cands = append(cands, cd)
		}
	}
	for i := range exited {
		e := &exited[i]
		if m, ok := c.prev[e.pid]; ok && m.start == e.start && m.at >= e.at {
			// The last collection sampled it already exiting (its exit
			// record was read after that sample): its final values are
			// out, and a sample stamped at the earlier exit time would
			// go back in time, which Prometheus remote write refuses.
			continue
		}
		cd := candidate{exited: e, pid: e.pid, start: e.start, at: e.at, info: e.info, exeName: exeName(e.info, e.comm),
			created: c.born.createdAt(e.start)}
		c.rate(&cd, cpuMark{total: e.total, user: e.user, sys: e.sys})
		if c.keep(&cd, e.euid) {
			cands = append(cands, cd)
		}
	}
	c.prev, c.next, c.lastAt = next, c.prev, now

	selected := c.selectTop(cands)
	md := pmetric.NewMetrics()
	if c.byHand {
		rms := md.ResourceMetrics()
		rms.EnsureCapacity(len(selected) + 1)
		for i := range selected {
			c.appendProcess(rms, &selected[i], clock, now)
		}
	} else {
		for _, cd := range selected {
			c.record(cd, clock, now)
		}
	}
	// Cleared for reuse: a candidate left past the next collection's
	// length would keep its exited process's slice alive, and with it
	// every exit of a past storm.
	clear(cands)
	c.cands = cands[:0]
	ts := clock.ts(now)
	for _, st := range []struct {
		s procstats.State
		a metadata.AttributeProcessState
	}{
		{procstats.Running, metadata.AttributeProcessStateRunning},
		{procstats.Sleeping, metadata.AttributeProcessStateSleeping},
		{procstats.Stopped, metadata.AttributeProcessStateStopped},
		{procstats.Defunct, metadata.AttributeProcessStateDefunct},
	} {
		c.mb.RecordSystemProcessCountDataPoint(ts, states[st.s], st.a)
	}
	c.mb.RecordSystemProcessCreatedDataPoint(ts, c.created.Load())
	// Downstream rules measure memory against the host's, so that they
	// never read the host they run on.
	if host, ok := memlimit.ReadHost(c.hostRoot); ok {
		c.mb.RecordSystemMemoryLimitDataPoint(ts, host.Total)
		c.mb.RecordSystemLinuxMemoryAvailableDataPoint(ts, host.Available)
	}
	rb := c.mb.NewResourceBuilder()
	rb.SetHostName(c.hostName)
	host := c.mb.Emit(metadata.WithResource(rb.Emit()), metadata.WithStartTimeOverride(c.started))
	if !c.byHand {
		return host, nil
	}
	host.ResourceMetrics().MoveAndAppendTo(md.ResourceMetrics())
	return md, nil
}

// rate fills cd's CPU rates from the previous sample of the same process or,
// for a process born since the previous collection, from its start.
func (c *collector) rate(cd *candidate, cur cpuMark) {
	cd.cores = -1
	base := cpuMark{start: cd.start, at: cd.start}
	if m, ok := c.prev[cd.pid]; ok && m.start == cd.start {
		base = m
	} else if c.lastAt == 0 || cd.start < c.lastAt {
		return // alive before a sample we did not take
	}
	if cd.at <= base.at || cur.total < base.total {
		return
	}
	dt := float64(cd.at - base.at)
	cd.cores = float64(cur.total-base.total) / dt
	cd.userRate = float64(cur.user-min(cur.user, base.user)) / dt
	cd.sysRate = float64(cur.sys-min(cur.sys, base.sys)) / dt
}

// keep applies the shared include/exclude filters and the floors.
func (c *collector) keep(cd *candidate, euid uint32) bool {
	if !c.filter.Keep(procfilter.Process{ExecutableName: cd.exeName, UID: euid, CgroupPath: cd.info.CgroupPath}) {
		return false
	}
	cpuFloor, memFloor := c.cfg.MinCPUUtilization, uint64(c.cfg.MinMemoryBytes)
	if cpuFloor == 0 && memFloor == 0 {
		return true
	}
	return cpuFloor > 0 && cd.cores >= cpuFloor || memFloor > 0 && cd.rss >= memFloor
}

// selectTop keeps the union of the top_n by CPU and the top_n by memory.
func (c *collector) selectTop(cands []candidate) []candidate {
	n := c.cfg.TopN
	if n == 0 || len(cands) <= n {
		return cands
	}
	keep := make([]bool, len(cands))
	order := make([]int, len(cands))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(cands[b].cores, cands[a].cores) })
	for _, i := range order[:n] {
		keep[i] = true
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(cands[b].rss, cands[a].rss) })
	for _, i := range order[:n] {
		keep[i] = true
	}
	out := cands[:0]
	for i, cd := range cands {
		if keep[i] {
			out = append(out, cd)
		}
	}
	return out
}

func (c *collector) record(cd candidate, clock wallClock, now uint64) {
	mb := c.mb
	ts := clock.ts(cd.at)
	var user, sys uint64
	var ppid, euid uint32
	if cd.p != nil {
		p := cd.p
		user, sys, ppid, euid = p.CPUUser, p.CPUSystem, p.PPID, p.EUID
		mb.RecordProcessMemoryUsageDataPoint(ts, int64(p.RSSBytes))
		mb.RecordProcessMemoryVirtualDataPoint(ts, int64(p.VirtualBytes))
		mb.RecordProcessThreadCountDataPoint(ts, p.Threads)
		mb.RecordProcessPagingFaultsDataPoint(ts, int64(p.MinorFaults), metadata.AttributePagingFaultTypeMinor)
		mb.RecordProcessPagingFaultsDataPoint(ts, int64(p.MajorFaults), metadata.AttributePagingFaultTypeMajor)
		mb.RecordProcessContextSwitchesDataPoint(ts, int64(p.Voluntary), metadata.AttributeContextSwitchTypeVoluntary)
		mb.RecordProcessContextSwitchesDataPoint(ts, int64(p.Involuntary), metadata.AttributeContextSwitchTypeInvoluntary)
		mb.RecordProcessUptimeDataPoint(ts, float64(now-min(now, cd.start))/1e9)
	} else {
		e := cd.exited
		user, sys, ppid, euid = e.user, e.sys, e.ppid, e.euid
	}
	mb.RecordProcessCPUTimeDataPoint(ts, float64(user)/1e9, metadata.AttributeCPUModeUser)
	mb.RecordProcessCPUTimeDataPoint(ts, float64(sys)/1e9, metadata.AttributeCPUModeSystem)
	if cd.cores >= 0 {
		mb.RecordLinnixProcessCPUCoresDataPoint(ts, cd.cores)
		mb.RecordProcessCPUUtilizationDataPoint(ts, cd.userRate/c.numCPU, metadata.AttributeCPUModeUser)
		mb.RecordProcessCPUUtilizationDataPoint(ts, cd.sysRate/c.numCPU, metadata.AttributeCPUModeSystem)
		if cd.cpuLimit > 0 {
			mb.RecordLinnixProcessCPULimitUtilizationDataPoint(ts, cd.cores/cd.cpuLimit)
		}
	}

	rb := mb.NewResourceBuilder()
	rb.SetHostName(c.hostName)
	rb.SetProcessPid(int64(cd.pid))
	rb.SetProcessParentPid(int64(ppid))
	rb.SetProcessExecutableName(cd.exeName)
	if cd.info.ExePath != "" {
		rb.SetProcessExecutablePath(cd.info.ExePath)
	}
	if len(cd.info.Args) > 0 {
		rb.SetProcessCommand(cd.info.Args[0])
	}
	rb.SetProcessOwner(c.owner(euid))
	rb.SetProcessCreationTime(cd.created)
	if cd.info.CgroupPath != "" {
		rb.SetProcessLinuxCgroup(cd.info.CgroupLine)
		cg := c.cgroupResource(&cd)
		if cg.hasMemLimit {
			rb.SetLinnixCgroupMemoryLimit(cg.memLimit)
		}
		if cg.containerID != "" {
			rb.SetContainerID(cg.containerID)
		}
	}
	if cd.cpuLimit > 0 {
		rb.SetLinnixCgroupCPULimit(cd.cpuLimit)
	}
	mb.EmitForResource(metadata.WithResource(rb.Emit()), metadata.WithStartTimeOverride(c.born.ts(cd.start)))
}

// cgroupResource is what a process's cgroup adds to its resource.
type cgroupResource struct {
	memLimit    int64
	hasMemLimit bool
	containerID string
}

// cgroupResource works out cd's cgroup attributes once per cgroup line and
// collection, unless the memory limit is looked up by process (a v2 line on
// a hybrid host).
func (c *collector) cgroupResource(cd *candidate) cgroupResource {
	line := cd.info.CgroupLine
	byProcess := c.cgroups.ByProcess(line)
	if !byProcess {
		if cg, ok := c.byCgroup[line]; ok {
			return cg
		}
	}
	cg := cgroupResource{containerID: containerid.FromCgroupPath(cd.info.CgroupPath)}
	if c.cfg.ResourceAttributes.LinnixCgroupMemoryLimit.Enabled {
		pid := 0 // an exited process has no /proc to consult
		if cd.p != nil {
			pid = int(cd.pid)
		}
		cg.memLimit, cg.hasMemLimit = c.cgroups.Limit(line, pid)
	}
	if !byProcess {
		c.byCgroup[line] = cg
	}
	return cg
}

// owner resolves a uid to its user name, caching the answer; unknown ids
// are reported as the number.
func (c *collector) owner(uid uint32) string {
	if name, ok := c.owners[uid]; ok {
		return name
	}
	id := strconv.FormatUint(uint64(uid), 10)
	name := id
	if u, err := user.LookupId(id); err == nil {
		name = u.Username
	}
	c.owners[uid] = name
	return name
}

func exeName(info proctable.Info, comm string) string {
	if info.ExePath != "" {
		return path.Base(info.ExePath)
	}
	return comm
}

func bootNow() uint64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts)
	return uint64(ts.Nano())
}

// onlineCPUs counts the CPUs the kernel has online, the denominator of
// process.cpu.utilization; the collector's own affinity may be narrower.
func onlineCPUs() int {
	data, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return max(1, runtime.NumCPU())
	}
	n := 0
	for _, r := range strings.Split(strings.TrimSpace(string(data)), ",") {
		lo, hi, isRange := strings.Cut(r, "-")
		a, err1 := strconv.Atoi(lo)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || b < a {
			return max(1, runtime.NumCPU())
		}
		n += b - a + 1
	}
	return max(1, n)
}

// metricDesc is what a generated metric carries besides its data points.
type metricDesc struct {
	name, description, unit string
	sum, monotonic          bool
}

// processMetricDescs are the per-process metrics, in the order the
// generated builder emits them.
type processMetricDescs struct {
	cores, limitUtilization, contextSwitches, cpuTime, cpuUtilization,
	memoryUsage, memoryVirtual, pagingFaults, threadCount, uptime metricDesc
}

// newProcessMetricDescs takes the names, descriptions and units from the
// generated builder itself, so that the two paths cannot drift apart.
func newProcessMetricDescs(set receiver.Settings) processMetricDescs {
	cfg := metadata.DefaultMetricsBuilderConfig()
	m := &cfg.Metrics
	m.LinnixProcessCPUCores.Enabled = true
	m.LinnixProcessCPULimitUtilization.Enabled = true
	m.ProcessContextSwitches.Enabled = true
	m.ProcessCPUTime.Enabled = true
	m.ProcessCPUUtilization.Enabled = true
	m.ProcessMemoryUsage.Enabled = true
	m.ProcessMemoryVirtual.Enabled = true
	m.ProcessPagingFaults.Enabled = true
	m.ProcessThreadCount.Enabled = true
	m.ProcessUptime.Enabled = true
	mb := metadata.NewMetricsBuilder(cfg, set)
	mb.RecordLinnixProcessCPUCoresDataPoint(0, 0)
	mb.RecordLinnixProcessCPULimitUtilizationDataPoint(0, 0)
	mb.RecordProcessContextSwitchesDataPoint(0, 0, metadata.AttributeContextSwitchTypeVoluntary)
	mb.RecordProcessCPUTimeDataPoint(0, 0, metadata.AttributeCPUModeUser)
	mb.RecordProcessCPUUtilizationDataPoint(0, 0, metadata.AttributeCPUModeUser)
	mb.RecordProcessMemoryUsageDataPoint(0, 0)
	mb.RecordProcessMemoryVirtualDataPoint(0, 0)
	mb.RecordProcessPagingFaultsDataPoint(0, 0, metadata.AttributePagingFaultTypeMinor)
	mb.RecordProcessThreadCountDataPoint(0, 0)
	mb.RecordProcessUptimeDataPoint(0, 0)
	descs := map[string]metricDesc{}
	ms := mb.Emit().ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	for i := 0; i < ms.Len(); i++ {
		m := ms.At(i)
		d := metricDesc{name: m.Name(), description: m.Description(), unit: m.Unit()}
		if m.Type() == pmetric.MetricTypeSum {
			d.sum, d.monotonic = true, m.Sum().IsMonotonic()
		}
		descs[d.name] = d
	}
	return processMetricDescs{
		cores:            descs["linnix.process.cpu.cores"],
		limitUtilization: descs["linnix.process.cpu.limit_utilization"],
		contextSwitches:  descs["process.context_switches"],
		cpuTime:          descs["process.cpu.time"],
		cpuUtilization:   descs["process.cpu.utilization"],
		memoryUsage:      descs["process.memory.usage"],
		memoryVirtual:    descs["process.memory.virtual"],
		pagingFaults:     descs["process.paging.faults"],
		threadCount:      descs["process.thread.count"],
		uptime:           descs["process.uptime"],
	}
}

// points appends the metric to ms and returns its data points, room made
// for n.
func (d *metricDesc) points(ms pmetric.MetricSlice, n int) pmetric.NumberDataPointSlice {
	m := ms.AppendEmpty()
	m.SetName(d.name)
	m.SetDescription(d.description)
	m.SetUnit(d.unit)
	var dps pmetric.NumberDataPointSlice
	if d.sum {
		s := m.SetEmptySum()
		s.SetIsMonotonic(d.monotonic)
		s.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		dps = s.DataPoints()
	} else {
		dps = m.SetEmptyGauge().DataPoints()
	}
	dps.EnsureCapacity(n)
	return dps
}

func point(dps pmetric.NumberDataPointSlice, start, ts pcommon.Timestamp) pmetric.NumberDataPoint {
	dp := dps.AppendEmpty()
	dp.SetStartTimestamp(start)
	dp.SetTimestamp(ts)
	return dp
}

func (d *metricDesc) ints(ms pmetric.MetricSlice, start, ts pcommon.Timestamp, key, a string, va int64, b string, vb int64) {
	dps := d.points(ms, 2)
	dp := point(dps, start, ts)
	dp.SetIntValue(va)
	dp.Attributes().PutStr(key, a)
	dp = point(dps, start, ts)
	dp.SetIntValue(vb)
	dp.Attributes().PutStr(key, b)
}

func (d *metricDesc) doubles(ms pmetric.MetricSlice, start, ts pcommon.Timestamp, key, a string, va float64, b string, vb float64) {
	dps := d.points(ms, 2)
	dp := point(dps, start, ts)
	dp.SetDoubleValue(va)
	dp.Attributes().PutStr(key, a)
	dp = point(dps, start, ts)
	dp.SetDoubleValue(vb)
	dp.Attributes().PutStr(key, b)
}

func (d *metricDesc) int(ms pmetric.MetricSlice, start, ts pcommon.Timestamp, v int64) {
	point(d.points(ms, 1), start, ts).SetIntValue(v)
}

func (d *metricDesc) double(ms pmetric.MetricSlice, start, ts pcommon.Timestamp, v float64) {
	point(d.points(ms, 1), start, ts).SetDoubleValue(v)
}

// canBuildByHand says whether appendProcess produces what the generated
// builder would for this config. It does not implement the builder's
// experimental resource attribute filters (metrics_include/exclude) nor the
// merging of data points whose attribute is disabled; a config that uses
// either keeps the generated builder.
func canBuildByHand(cfg metadata.MetricsBuilderConfig) bool {
	ra := cfg.ResourceAttributes
	for _, a := range []metadata.ResourceAttributeConfig{
		ra.ContainerID, ra.HostName, ra.LinnixCgroupCPULimit, ra.LinnixCgroupMemoryLimit, ra.ProcessCommand,
		ra.ProcessCreationTime, ra.ProcessExecutableName, ra.ProcessExecutablePath, ra.ProcessLinuxCgroup,
		ra.ProcessOwner, ra.ProcessParentPid, ra.ProcessPid,
	} {
		if len(a.MetricsInclude) > 0 || len(a.MetricsExclude) > 0 {
			return false
		}
	}
	m := cfg.Metrics
	return slices.Contains(m.ProcessContextSwitches.EnabledAttributes, metadata.ProcessContextSwitchesMetricAttributeKeyContextSwitchType) &&
		slices.Contains(m.ProcessCPUTime.EnabledAttributes, metadata.ProcessCPUTimeMetricAttributeKeyCPUMode) &&
		slices.Contains(m.ProcessCPUUtilization.EnabledAttributes, metadata.ProcessCPUUtilizationMetricAttributeKeyCPUMode) &&
		slices.Contains(m.ProcessPagingFaults.EnabledAttributes, metadata.ProcessPagingFaultsMetricAttributeKeyPagingFaultType)
}

// appendProcess is record without the generated builder: the same resource
// and metrics, built in place. The builder records each metric into a
// buffer, moves it into a new resource, copies the resource's attributes in
// and rewrites every start time; at one resource per process that was most
// of a collection's cost.
func (c *collector) appendProcess(rms pmetric.ResourceMetricsSlice, cd *candidate, clock wallClock, now uint64) {
	m := &c.cfg.Metrics
	live := cd.p != nil
	rate := cd.cores >= 0
	limited := rate && cd.cpuLimit > 0
	// The builder drops a resource without metrics.
	if !m.ProcessCPUTime.Enabled &&
		!(rate && (m.LinnixProcessCPUCores.Enabled || m.ProcessCPUUtilization.Enabled)) &&
		!(limited && m.LinnixProcessCPULimitUtilization.Enabled) &&
		!(live && (m.ProcessContextSwitches.Enabled || m.ProcessMemoryUsage.Enabled || m.ProcessMemoryVirtual.Enabled ||
			m.ProcessPagingFaults.Enabled || m.ProcessThreadCount.Enabled || m.ProcessUptime.Enabled)) {
		return
	}
	var user, sys uint64
	var ppid, euid uint32
	if live {
		user, sys, ppid, euid = cd.p.CPUUser, cd.p.CPUSystem, cd.p.PPID, cd.p.EUID
	} else {
		user, sys, ppid, euid = cd.exited.user, cd.exited.sys, cd.exited.ppid, cd.exited.euid
	}

	rm := rms.AppendEmpty()
	c.putResource(rm.Resource().Attributes(), cd, ppid, euid)
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(metadata.ScopeName)
	sm.Scope().SetVersion(c.scopeVersion)
	ms := sm.Metrics()
	ms.EnsureCapacity(10)
	d := &c.descs
	ts, start := clock.ts(cd.at), c.born.ts(cd.start)
	if rate && m.LinnixProcessCPUCores.Enabled {
		d.cores.double(ms, start, ts, cd.cores)
	}
	if limited && m.LinnixProcessCPULimitUtilization.Enabled {
		d.limitUtilization.double(ms, start, ts, cd.cores/cd.cpuLimit)
	}
	if live && m.ProcessContextSwitches.Enabled {
		d.contextSwitches.ints(ms, start, ts, "type", "voluntary", int64(cd.p.Voluntary), "involuntary", int64(cd.p.Involuntary))
	}
	if m.ProcessCPUTime.Enabled {
		d.cpuTime.doubles(ms, start, ts, "cpu.mode", "user", float64(user)/1e9, "system", float64(sys)/1e9)
	}
	if rate && m.ProcessCPUUtilization.Enabled {
		d.cpuUtilization.doubles(ms, start, ts, "cpu.mode", "user", cd.userRate/c.numCPU, "system", cd.sysRate/c.numCPU)
	}
	if !live {
		return
	}
	p := cd.p
	if m.ProcessMemoryUsage.Enabled {
		d.memoryUsage.int(ms, start, ts, int64(p.RSSBytes))
	}
	if m.ProcessMemoryVirtual.Enabled {
		d.memoryVirtual.int(ms, start, ts, int64(p.VirtualBytes))
	}
	if m.ProcessPagingFaults.Enabled {
		d.pagingFaults.ints(ms, start, ts, "type", "minor", int64(p.MinorFaults), "major", int64(p.MajorFaults))
	}
	if m.ProcessThreadCount.Enabled {
		d.threadCount.int(ms, start, ts, p.Threads)
	}
	if m.ProcessUptime.Enabled {
		d.uptime.double(ms, start, ts, float64(now-min(now, cd.start))/1e9)
	}
}

// putResource sets a process's resource attributes in record's order.
func (c *collector) putResource(attrs pcommon.Map, cd *candidate, ppid, euid uint32) {
	ra := &c.cfg.ResourceAttributes
	attrs.EnsureCapacity(12)
	if ra.HostName.Enabled {
		attrs.PutStr("host.name", c.hostName)
	}
	if ra.ProcessPid.Enabled {
		attrs.PutInt("process.pid", int64(cd.pid))
	}
	if ra.ProcessParentPid.Enabled {
		attrs.PutInt("process.parent_pid", int64(ppid))
	}
	if ra.ProcessExecutableName.Enabled {
		attrs.PutStr("process.executable.name", cd.exeName)
	}
	if cd.info.ExePath != "" && ra.ProcessExecutablePath.Enabled {
		attrs.PutStr("process.executable.path", cd.info.ExePath)
	}
	if len(cd.info.Args) > 0 && ra.ProcessCommand.Enabled {
		attrs.PutStr("process.command", cd.info.Args[0])
	}
	if ra.ProcessOwner.Enabled {
		attrs.PutStr("process.owner", c.owner(euid))
	}
	if ra.ProcessCreationTime.Enabled {
		attrs.PutStr("process.creation.time", cd.created)
	}
	if cd.info.CgroupPath != "" {
		if ra.ProcessLinuxCgroup.Enabled {
			attrs.PutStr("process.linux.cgroup", cd.info.CgroupLine)
		}
		cg := c.cgroupResource(cd)
		if cg.hasMemLimit && ra.LinnixCgroupMemoryLimit.Enabled {
			attrs.PutInt("linnix.cgroup.memory.limit", cg.memLimit)
		}
		if cg.containerID != "" && ra.ContainerID.Enabled {
			attrs.PutStr("container.id", cg.containerID)
		}
	}
	if cd.cpuLimit > 0 && ra.LinnixCgroupCPULimit.Enabled {
		attrs.PutDouble("linnix.cgroup.cpu.limit", cd.cpuLimit)
	}
}
