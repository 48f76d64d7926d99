// Package grounding keeps the little context an incident's analysis is
// grounded in: the latest per-process CPU and memory, each host's memory
// (from the system.memory.limit and system.linux.memory.available metrics,
// never from the host the processor runs on), and the recent lifecycle
// records, so that the prompt states measured facts only.
package grounding

import (
	"cmp"
	"slices"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
	"github.com/linnix-os/otelcol-linnix/internal/pdatautil"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/engine"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/llm"
)

const (
	topN          = 5
	recentRecords = 512
	maxProcesses  = 20000
	perSubject    = 6
)

type sample struct {
	exe     string
	cores   float64
	rss     float64
	updated time.Time
}

// Tracker is safe for concurrent use.
type Tracker struct {
	mu     sync.Mutex
	mem    *engine.HostMemory
	procs  map[hostPID]*sample
	recent []hostRecord // ring
	next   int
}

// New returns an empty tracker.
func New() *Tracker {
	return &Tracker{mem: engine.NewHostMemory(), procs: map[hostPID]*sample{}, recent: make([]hostRecord, 0, recentRecords)}
}

// hostPID names a process among every host a gateway hears from.
type hostPID struct {
	host string
	pid  int64
}

// hostRecord is a lifecycle record and the host it came from.
type hostRecord struct {
	host string
	rec  llm.Lifecycle
}

// ObserveMetrics keeps each process's latest CPU cores and resident memory.
func (t *Tracker) ObserveMetrics(md pmetric.Metrics, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.mem.ObserveMetrics(md, now)
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		rm := md.ResourceMetrics().At(i)
		attrs := rm.Resource().Attributes()
		pid := pdatautil.Int(attrs, contract.ProcessPID)
		if pid == 0 {
			continue
		}
		key := hostPID{pdatautil.Str(attrs, contract.HostName), pid}
		s := t.procs[key]
		if s == nil {
			if len(t.procs) >= maxProcesses {
				continue
			}
			s = &sample{}
			t.procs[key] = s
		}
		if v, ok := attrs.Get(contract.ProcessExecutableName); ok {
			s.exe = v.AsString()
		}
		s.updated = now
		for j := 0; j < rm.ScopeMetrics().Len(); j++ {
			ms := rm.ScopeMetrics().At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				switch m.Name() {
				case contract.MetricCPUCores:
					s.cores = lastValue(m)
				case contract.MetricMemoryUsage:
					s.rss = lastValue(m)
				}
			}
		}
	}
}

// ObserveLogs keeps the most recent lifecycle records.
func (t *Tracker) ObserveLogs(ld plog.Logs) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		host := pdatautil.Str(ld.ResourceLogs().At(i).Resource().Attributes(), contract.HostName)
		sls := ld.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				var event string
				switch lr.EventName() {
				case contract.EventFork:
					event = "fork"
				case contract.EventExec:
					event = "exec"
				case contract.EventExit:
					event = "exit"
				default:
					continue
				}
				a := lr.Attributes()
				if _, thread := a.Get(contract.ThreadID); thread {
					continue
				}
				rec := llm.Lifecycle{At: lr.Timestamp().AsTime(), Event: event, PID: pdatautil.Int(a, contract.ProcessPID), PPID: pdatautil.Int(a, contract.ProcessParentPID)}
				if v, ok := a.Get(contract.ProcessExecutableName); ok {
					rec.Exe = v.AsString()
				}
				if v, ok := a.Get(contract.ProcessCommandArgs); ok && v.Type() == pcommon.ValueTypeSlice && event == "exec" {
					for _, x := range v.Slice().AsRaw() {
						s, _ := x.(string)
						rec.Args = append(rec.Args, s)
					}
				}
				if v, ok := a.Get(contract.ProcessExitCode); ok && event == "exit" {
					code := v.Int()
					rec.ExitCode = &code
				}
				if event == "exit" {
					delete(t.procs, hostPID{host, rec.PID})
				}
				if len(t.recent) < recentRecords {
					t.recent = append(t.recent, hostRecord{host, rec})
				} else {
					t.recent[t.next] = hostRecord{host, rec}
				}
				t.next = (t.next + 1) % recentRecords
			}
		}
	}
}

// Input gathers what an incident's prompt may say.
func (t *Tracker) Input(inc engine.Incident, now time.Time, staleAfter time.Duration) llm.Input {
	in := llm.Input{Rule: inc.Rule, Kind: string(inc.Kind), Severity: string(inc.Severity), Summary: inc.Summary, Evidence: inc.Evidence}
	s := inc.Subject
	for _, kv := range []llm.KV{
		{Key: contract.ProcessPID, Value: num(s.PID)},
		{Key: contract.ProcessParentPID, Value: num(s.PPID)},
		{Key: contract.ProcessExecutableName, Value: s.Exe},
		{Key: contract.ProcessExecutablePath, Value: s.ExePath},
		{Key: contract.ContainerID, Value: s.Container},
		{Key: contract.ProcessLinuxCgroup, Value: s.Cgroup},
		{Key: contract.HostName, Value: s.Host},
	} {
		if kv.Value != "" {
			in.Subject = append(in.Subject, kv)
		}
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	// The incident's host's memory, if its metrics are fresh; nothing is
	// said of a host whose memory is unknown.
	in.HostMemoryTotal, in.HostMemoryAvailable, _ = t.mem.Get(s.Host, now, staleAfter)
	var live []llm.Process
	for key, p := range t.procs {
		if key.host == s.Host && now.Sub(p.updated) <= staleAfter {
			live = append(live, llm.Process{PID: key.pid, Exe: p.exe, Cores: p.cores, RSS: p.rss})
		}
	}
	slices.SortFunc(live, func(a, b llm.Process) int { return cmp.Or(cmp.Compare(b.Cores, a.Cores), cmp.Compare(a.PID, b.PID)) })
	in.TopCPU = slices.Clone(live[:min(topN, len(live))])
	slices.SortFunc(live, func(a, b llm.Process) int { return cmp.Or(cmp.Compare(b.RSS, a.RSS), cmp.Compare(a.PID, b.PID)) })
	in.TopMemory = slices.Clone(live[:min(topN, len(live))])

	// The latest records of the subject and of its parent, oldest first.
	var mine []llm.Lifecycle
	for i := 0; i < len(t.recent) && len(mine) < perSubject; i++ {
		idx := (t.next - 1 - i + 2*recentRecords) % recentRecords
		if idx >= len(t.recent) {
			continue
		}
		hr := t.recent[idx]
		r := hr.rec
		if s.PID != 0 && hr.host == s.Host && (r.PID == s.PID || r.PID == s.PPID || r.PPID == s.PID) {
			mine = append(mine, r)
		}
	}
	slices.Reverse(mine)
	in.Lifecycle = mine
	return in
}

func num(v int64) string {
	if v == 0 {
		return ""
	}
	return strconv.FormatInt(v, 10)
}

// lastValue sums a metric's points: both cpu.mode points of a process, or
// its one memory point.
func lastValue(m pmetric.Metric) float64 {
	dps := pdatautil.NumberPoints(m)
	var v float64
	for i := 0; i < dps.Len(); i++ {
		v += pdatautil.PointValue(dps.At(i))
	}
	return v
}
