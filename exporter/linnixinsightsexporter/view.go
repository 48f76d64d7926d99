package linnixinsightsexporter

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
	"github.com/linnix-os/otelcol-linnix/internal/insightsapi"
	"github.com/linnix-os/otelcol-linnix/internal/pdatautil"
)

// rateWindow is the span of Stats.Rates.
const rateWindow = 60

// view is the state behind the API: everything but the stream's ring and
// clients, which the hub holds.
type view struct {
	cfg     *Config
	now     func() time.Time
	started time.Time
	hub     *hub

	mu        sync.Mutex
	seq       uint64
	records   map[insightsapi.EventType]uint64
	buckets   map[insightsapi.EventType]*[rateWindow]bucket
	incidents map[string]*insightsapi.Incident
	procs     map[procKey]*proc
	collected time.Time
	// scratch is where frames are encoded before being copied out at
	// their exact size: the ring keeps max_events of them.
	scratch []byte
}

// bucket counts the records of one second.
type bucket struct {
	sec int64
	n   uint64
}

type procKey struct {
	pid     int64
	created string
}

type proc struct {
	insightsapi.Process
	seen time.Time // when the pipeline last reported it
}

func newView(cfg *Config, now func() time.Time) *view {
	v := &view{cfg: cfg, now: now, started: now(),
		hub:       newHub(cfg.MaxEvents, cfg.MaxStreamClients, cfg.StreamBuffer),
		records:   map[insightsapi.EventType]uint64{},
		buckets:   map[insightsapi.EventType]*[rateWindow]bucket{},
		incidents: map[string]*insightsapi.Incident{},
		procs:     map[procKey]*proc{},
	}
	for _, t := range insightsapi.EventTypes {
		v.buckets[t] = &[rateWindow]bucket{}
	}
	return v
}

// consumeLogs keeps the lifecycle records and incidents of ld and offers
// them to the stream's clients. It returns the deliveries dropped for slow
// clients. Other records pass unseen.
func (v *view) consumeLogs(ld plog.Logs) uint64 {
	now := v.now()
	var entries []*entry
	v.mu.Lock()
	for _, rl := range ld.ResourceLogs().All() {
		res := rl.Resource().Attributes()
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				typ, ok := insightsapi.EventTypeOf(lr.EventName())
				if !ok {
					continue
				}
				v.seq++
				entries = append(entries, v.record(now, typ, res, lr))
			}
		}
	}
	v.mu.Unlock()
	if len(entries) == 0 {
		return 0
	}
	return v.hub.publish(entries)
}

// record counts one record, updates the incidents or processes it speaks
// of, and encodes its stream entry. v.mu is held.
func (v *view) record(now time.Time, typ insightsapi.EventType, res pcommon.Map, lr plog.LogRecord) *entry {
	attrs := lr.Attributes()
	v.records[typ]++
	b := &v.buckets[typ][now.Unix()%rateWindow]
	if b.sec != now.Unix() {
		b.sec, b.n = now.Unix(), 0
	}
	b.n++

	ts := lr.Timestamp().AsTime()
	if lr.Timestamp() == 0 {
		ts = lr.ObservedTimestamp().AsTime()
	}
	ev := insightsapi.Event{Seq: v.seq, Time: ts.UTC(), Type: typ, Body: lr.Body().AsString(),
		PID: intAttr(attrs, res, contract.ProcessPID), PPID: intAttr(attrs, res, contract.ProcessParentPID),
		Executable: strAttr(attrs, res, contract.ProcessExecutableName), Command: strAttr(attrs, res, contract.ProcessCommand),
		Container: strAttr(attrs, res, contract.ContainerID)}
	sevRank := -1
	switch typ {
	case insightsapi.EventIncident:
		ev.Severity = strAttr(attrs, res, contract.IncidentSeverity)
		sevRank = contract.SeverityRank(ev.Severity)
		v.incident(now, ts, res, lr)
	case insightsapi.EventExit:
		v.exited(ev.PID, strAttr(attrs, res, contract.ProcessCreationTime))
	}
	v.scratch = appendFrame(v.scratch[:0], &ev, res, attrs)
	return &entry{typ: typ, pid: ev.PID, exe: ev.Executable, container: ev.Container, sevRank: sevRank,
		frame: bytes.Clone(v.scratch)}
}

// incidentKeys are the attributes an Incident has fields for; every other
// one goes to its Attributes.
var incidentKeys = map[string]bool{
	contract.IncidentID: true, contract.IncidentRule: true, contract.IncidentKind: true, contract.IncidentSeverity: true,
	contract.IncidentState: true, contract.IncidentStarted: true, contract.IncidentConfidence: true,
	contract.IncidentRepeat: true, contract.IncidentEvidence: true, contract.IncidentActions: true,
	contract.AnalysisStatus: true, contract.AnalysisReason: true, contract.AnalysisClass: true,
	contract.AnalysisConfidence: true, contract.AnalysisSummary: true, contract.AnalysisRootCause: true,
	contract.AnalysisActions: true, contract.AnalysisCitedFacts: true, contract.GenAIRequestModel: true,
	contract.HostName: true,
}

// incident keeps the latest state of the incident lr reports. A repeat
// counts; a record that says nothing of the analysis keeps the one
// already known (the analysis may come with a later record).
func (v *view) incident(now, ts time.Time, res pcommon.Map, lr plog.LogRecord) {
	attrs := lr.Attributes()
	id := strAttr(attrs, noAttrs, contract.IncidentID)
	if id == "" {
		return
	}
	in := v.incidents[id]
	if in == nil {
		in = &insightsapi.Incident{ID: id}
		v.incidents[id] = in
	}
	in.Rule = strAttr(attrs, noAttrs, contract.IncidentRule)
	in.Kind = strAttr(attrs, noAttrs, contract.IncidentKind)
	in.Severity = strAttr(attrs, noAttrs, contract.IncidentSeverity)
	in.State = strAttr(attrs, noAttrs, contract.IncidentState)
	if t, err := time.Parse(time.RFC3339Nano, strAttr(attrs, noAttrs, contract.IncidentStarted)); err == nil {
		in.Started = t.UTC()
	} else if in.Started.IsZero() {
		in.Started = ts.UTC()
	}
	in.Updated = ts.UTC()
	in.Summary = lr.Body().AsString()
	if r, ok := attrs.Get(contract.IncidentRepeat); ok && r.Type() == pcommon.ValueTypeBool && r.Bool() {
		in.Repeat++
	}
	in.Confidence = floatAttr(attrs, contract.IncidentConfidence)
	if e, ok := attrs.Get(contract.IncidentEvidence); ok {
		in.Evidence = evidence(e)
	}
	if a, ok := attrs.Get(contract.IncidentActions); ok {
		in.Actions = stringList(a)
	}
	in.Host = strAttr(attrs, res, contract.HostName)
	if status := strAttr(attrs, noAttrs, contract.AnalysisStatus); status != "" {
		an := &insightsapi.Analysis{Status: status, Reason: strAttr(attrs, noAttrs, contract.AnalysisReason),
			Class: strAttr(attrs, noAttrs, contract.AnalysisClass), Confidence: floatAttr(attrs, contract.AnalysisConfidence),
			Summary: strAttr(attrs, noAttrs, contract.AnalysisSummary), RootCause: strAttr(attrs, noAttrs, contract.AnalysisRootCause),
			Model: strAttr(attrs, noAttrs, contract.GenAIRequestModel)}
		if a, ok := attrs.Get(contract.AnalysisActions); ok {
			an.Actions = stringList(a)
		}
		if a, ok := attrs.Get(contract.AnalysisCitedFacts); ok {
			an.CitedFacts = stringList(a)
		}
		in.Analysis = an
	}
	in.Attributes = map[string]any{}
	for k, val := range attrs.All() {
		if !incidentKeys[k] {
			in.Attributes[k] = val.AsRaw()
		}
	}
	v.expireIncidents(now)
}

// expireIncidents drops resolved incidents past their retention and, over
// the bound, the least recently updated. v.mu is held.
func (v *view) expireIncidents(now time.Time) {
	for id, in := range v.incidents {
		if in.State == contract.StateResolved && now.Sub(in.Updated) > v.cfg.ResolvedRetention {
			delete(v.incidents, id)
		}
	}
	if over := len(v.incidents) - v.cfg.MaxIncidents; over > 0 {
		all := make([]*insightsapi.Incident, 0, len(v.incidents))
		for _, in := range v.incidents {
			all = append(all, in)
		}
		slices.SortFunc(all, func(a, b *insightsapi.Incident) int { return a.Updated.Compare(b.Updated) })
		for _, in := range all[:over] {
			delete(v.incidents, in.ID)
		}
	}
}

// exited forgets the sample of a process whose exit record passed: its
// last sample would otherwise show a dead process until it goes stale.
func (v *view) exited(pid int64, created string) {
	for k := range v.procs {
		if k.pid == pid && (created == "" || k.created == "" || k.created == created) {
			delete(v.procs, k)
		}
	}
}

// consumeMetrics keeps the latest sample of every process in md: one
// resource per process, with process.pid.
func (v *view) consumeMetrics(md pmetric.Metrics) {
	now := v.now()
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, rm := range md.ResourceMetrics().All() {
		res := rm.Resource().Attributes()
		pid := intAttr(noAttrs, res, contract.ProcessPID)
		if pid == 0 {
			continue
		}
		var s sample
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				s.add(m)
			}
		}
		if !s.any {
			continue
		}
		key := procKey{pid, strAttr(noAttrs, res, contract.ProcessCreationTime)}
		p := v.procs[key]
		if p == nil {
			p = &proc{}
			v.procs[key] = p
		}
		v.update(p, pid, res, &s)
		p.seen = now
		if p.Sampled.After(v.collected) {
			v.collected = p.Sampled
		}
	}
	v.expireProcesses(now)
}

// update sets p from its new sample: cores from linnix.process.cpu.cores
// when the receiver sent it, else from process.cpu.time's increase since
// the previous sample.
func (v *view) update(p *proc, pid int64, res pcommon.Map, s *sample) {
	prevTime, prevAt := p.CPUTime, p.Sampled
	p.PID, p.PPID = pid, intAttr(noAttrs, res, contract.ProcessParentPID)
	p.Executable = strAttr(noAttrs, res, contract.ProcessExecutableName)
	p.Command = strAttr(noAttrs, res, contract.ProcessCommand)
	p.Owner = strAttr(noAttrs, res, contract.ProcessOwner)
	p.Cgroup = strAttr(noAttrs, res, contract.ProcessLinuxCgroup)
	p.Container = strAttr(noAttrs, res, contract.ContainerID)
	p.MemoryLimit = intAttr(noAttrs, res, contract.CgroupMemoryLimit)
	if !s.at.IsZero() {
		p.Sampled = s.at.UTC()
	} else {
		p.Sampled = v.now().UTC()
	}
	if s.hasRSS {
		p.MemoryRSS = s.rss
	}
	if s.hasVirt {
		p.MemoryVirt = s.virt
	}
	if s.hasThreads {
		p.Threads = s.threads
	}
	if s.hasCPUTime {
		p.CPUTime = s.cpuTime
	}
	switch {
	case s.hasCores:
		p.CPUCores = s.cores
	case s.hasCPUTime && !prevAt.IsZero() && p.Sampled.After(prevAt) && s.cpuTime >= prevTime:
		p.CPUCores = (s.cpuTime - prevTime) / p.Sampled.Sub(prevAt).Seconds()
	}
}

// expireProcesses drops the processes not reported for
// process_stale_after and, over the bound, the least recently reported.
// v.mu is held.
func (v *view) expireProcesses(now time.Time) {
	for k, p := range v.procs {
		if now.Sub(p.seen) > v.cfg.ProcessStaleAfter {
			delete(v.procs, k)
		}
	}
	if over := len(v.procs) - v.cfg.MaxProcesses; over > 0 {
		keys := make([]procKey, 0, len(v.procs))
		for k := range v.procs {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b procKey) int { return v.procs[a].seen.Compare(v.procs[b].seen) })
		for _, k := range keys[:over] {
			delete(v.procs, k)
		}
	}
}

// sample is what one resource's metrics say of its process.
type sample struct {
	any                                               bool
	at                                                time.Time
	cpuTime, cores                                    float64
	rss, virt, threads                                int64
	hasCPUTime, hasCores, hasRSS, hasVirt, hasThreads bool
}

func (s *sample) add(m pmetric.Metric) {
	var dps pmetric.NumberDataPointSlice
	switch m.Type() {
	case pmetric.MetricTypeSum:
		dps = m.Sum().DataPoints()
	case pmetric.MetricTypeGauge:
		dps = m.Gauge().DataPoints()
	default:
		return
	}
	if dps.Len() == 0 {
		return
	}
	var total float64
	for _, dp := range dps.All() {
		if t := dp.Timestamp().AsTime(); dp.Timestamp() != 0 && t.After(s.at) {
			s.at = t
		}
		if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
			total += float64(dp.IntValue())
		} else {
			total += dp.DoubleValue()
		}
	}
	switch m.Name() {
	case contract.MetricCPUTime: // user + system
		s.cpuTime, s.hasCPUTime = total, true
	case contract.MetricCPUCores:
		s.cores, s.hasCores = total, true
	case contract.MetricMemoryUsage:
		s.rss, s.hasRSS = int64(total), true
	case contract.MetricMemoryVirtual:
		s.virt, s.hasVirt = int64(total), true
	case contract.MetricThreadCount:
		s.threads, s.hasThreads = int64(total), true
	default:
		return
	}
	s.any = true
}

// incidentList: open incidents first, then resolved, each newest first.
func (v *view) incidentList() insightsapi.IncidentList {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.expireIncidents(v.now())
	out := insightsapi.IncidentList{Incidents: make([]insightsapi.Incident, 0, len(v.incidents))}
	for _, in := range v.incidents {
		out.Incidents = append(out.Incidents, *in)
	}
	sort.Slice(out.Incidents, func(i, j int) bool {
		a, b := out.Incidents[i], out.Incidents[j]
		if (a.State == contract.StateResolved) != (b.State == contract.StateResolved) {
			return b.State == contract.StateResolved
		}
		return a.Updated.After(b.Updated)
	})
	return out
}

func (v *view) incidentByID(id string) (insightsapi.Incident, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.expireIncidents(v.now())
	in, ok := v.incidents[id]
	if !ok {
		return insightsapi.Incident{}, false
	}
	return *in, true
}

// processList: the heaviest by sortBy, at most limit.
func (v *view) processList(sortBy string, limit int) insightsapi.ProcessList {
	v.mu.Lock()
	v.expireProcesses(v.now())
	out := insightsapi.ProcessList{Collected: v.collected, Total: len(v.procs), Processes: make([]insightsapi.Process, 0, len(v.procs))}
	for _, p := range v.procs {
		out.Processes = append(out.Processes, p.Process)
	}
	v.mu.Unlock()
	slices.SortFunc(out.Processes, func(a, b insightsapi.Process) int {
		if sortBy == insightsapi.SortMemory {
			return cmp.Or(cmp.Compare(b.MemoryRSS, a.MemoryRSS), cmp.Compare(b.CPUCores, a.CPUCores), cmp.Compare(a.PID, b.PID))
		}
		return cmp.Or(cmp.Compare(b.CPUCores, a.CPUCores), cmp.Compare(b.MemoryRSS, a.MemoryRSS), cmp.Compare(a.PID, b.PID))
	})
	if len(out.Processes) > limit {
		out.Processes = out.Processes[:limit]
	}
	return out
}

// stats fills what the view knows; the server adds the self metrics.
func (v *view) stats() insightsapi.Stats {
	now := v.now()
	st := insightsapi.Stats{Started: v.started.UTC(), Now: now.UTC(),
		Records: map[insightsapi.EventType]uint64{}, Rates: map[insightsapi.EventType]float64{}}
	span := min(now.Sub(v.started).Seconds(), rateWindow)
	span = max(span, 1)
	v.mu.Lock()
	for t, b := range v.buckets {
		st.Records[t] = v.records[t]
		if t == insightsapi.EventIncident {
			continue
		}
		var n uint64
		for _, k := range b {
			if now.Unix()-k.sec < rateWindow {
				n += k.n
			}
		}
		st.Rates[t] = float64(n) / span
	}
	v.expireIncidents(now)
	for _, in := range v.incidents {
		if in.State == contract.StateResolved {
			st.Incidents.Resolved++
		} else {
			st.Incidents.Firing++
		}
	}
	v.expireProcesses(now)
	st.Processes = len(v.procs)
	v.mu.Unlock()
	st.StreamClients = v.hub.clientCount()
	st.StreamDropped = v.hub.dropped.Load()
	return st
}

// noAttrs stands for "no map" in strAttr and intAttr.
var noAttrs = pcommon.NewMap()

// holder is the map that carries key: the record's own attributes, else
// its resource's (lifecycle records carry identity on the record, metrics
// on the resource; see docs/records.md).
func holder(attrs, res pcommon.Map, key string) pcommon.Map {
	if _, ok := attrs.Get(key); ok {
		return attrs
	}
	return res
}

// strAttr reads key from attrs, else from res.
func strAttr(attrs, res pcommon.Map, key string) string {
	return pdatautil.Str(holder(attrs, res, key), key)
}

// intAttr reads key from attrs, else from res, whatever its number type.
func intAttr(attrs, res pcommon.Map, key string) int64 {
	return pdatautil.Int(holder(attrs, res, key), key)
}

func floatAttr(attrs pcommon.Map, key string) float64 {
	f, _ := pdatautil.Float(attrs, key)
	return f
}

func stringList(v pcommon.Value) []string {
	if v.Type() != pcommon.ValueTypeSlice {
		return []string{v.AsString()}
	}
	out := make([]string, 0, v.Slice().Len())
	for _, e := range v.Slice().All() {
		out = append(out, e.AsString())
	}
	return out
}

// evidence renders the incident's evidence map as sorted key=value lines.
func evidence(v pcommon.Value) []string {
	if v.Type() != pcommon.ValueTypeMap {
		return []string{v.AsString()}
	}
	out := make([]string, 0, v.Map().Len())
	for k, e := range v.Map().All() {
		out = append(out, fmt.Sprintf("%s=%s", k, e.AsString()))
	}
	slices.Sort(out)
	return out
}
