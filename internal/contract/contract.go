// Package contract holds every name that travels between the components of
// otelcol-linnix: event names, attribute keys, metric names and enum
// values. The receiver writes records with these names, the processor and
// the exporters read them; no component imports another. docs/records.md
// documents each record for the people who query them, and a test keeps
// that document and this package in step.
package contract

// Event names, set in the LogRecord's EventName field. No semantic
// convention defines process lifecycle events, so they carry the product
// prefix.
const (
	EventFork     = "linnix.process.fork"
	EventExec     = "linnix.process.exec"
	EventExit     = "linnix.process.exit"
	EventIncident = "linnix.incident"
)

// Instrumentation scope names of the records each component emits.
const (
	ScopeReceiver  = "github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver"
	ScopeProcessor = "github.com/linnix-os/otelcol-linnix/processor/incidentprocessor"
)

// Host and resource attributes.
const (
	HostName = "host.name"
	OSType   = "os.type"
)

// Process attributes (semantic conventions, except the linnix.* ones). On
// lifecycle records they are record attributes; on metrics they describe
// the resource. See Places.
const (
	ProcessPID            = "process.pid"
	ProcessParentPID      = "process.parent_pid"
	ProcessExecutableName = "process.executable.name"
	ProcessExecutablePath = "process.executable.path"
	ProcessCommand        = "process.command"
	ProcessCommandArgs    = "process.command_args"
	ProcessOwner          = "process.owner"
	ProcessUserID         = "process.user.id"
	ProcessRealUserID     = "process.real_user.id"
	ProcessGroupID        = "process.group.id"
	ProcessRealGroupID    = "process.real_group.id"
	ProcessCreationTime   = "process.creation.time"
	ProcessLinuxCgroup    = "process.linux.cgroup"
	ProcessExitCode       = "process.exit.code"
	ProcessExitTime       = "process.exit.time"
	ContainerID           = "container.id"
	ThreadID              = "thread.id"
	CommandArgsTruncated  = "linnix.process.command_args.truncated"
	ProcessLifetime       = "linnix.process.lifetime"
	ProcessExitSignal     = "linnix.process.exit.signal"
	ProcessExitCoreDumped = "linnix.process.exit.core_dumped"
	CgroupID              = "linnix.cgroup.id"
	CgroupMemoryLimit     = "linnix.cgroup.memory.limit"
	// The cgroup's CPU limit in cores (v2 cpu.max, v1 cfs quota/period),
	// absent when unlimited.
	CgroupCPULimit = "linnix.cgroup.cpu.limit"
	// Exec records: the working directory at exec, and whether the file
	// executed has no path (a memfd or a deleted file).
	ProcessWorkingDirectory = "process.working_directory"
	ProcessFileless         = "linnix.process.fileless"
	// Exit records of processes the kernel's OOM killer chose: the mark,
	// and the victim's resident memory at the kill, in bytes.
	OOMKilled            = "linnix.oom.killed"
	OOMRSS               = "linnix.oom.rss"
	ProcessCPUMode       = "cpu.mode"
	ProcessState         = "process.state"
	CPUModeUser          = "user"
	CPUModeSystem        = "system"
	ProcessStateRunning  = "running"
	ProcessStateSleeping = "sleeping"
	ProcessStateStopped  = "stopped"
	ProcessStateDefunct  = "defunct"
)

// Metric names.
const (
	MetricCPUTime         = "process.cpu.time"
	MetricCPUUtilization  = "process.cpu.utilization"
	MetricCPUCores        = "linnix.process.cpu.cores"
	MetricMemoryUsage     = "process.memory.usage"
	MetricMemoryVirtual   = "process.memory.virtual"
	MetricThreadCount     = "process.thread.count"
	MetricPagingFaults    = "process.paging.faults"
	MetricContextSwitches = "process.context_switches"
	MetricUptime          = "process.uptime"
	// CPU used over the last interval divided by the process's cgroup CPU
	// limit (1 = the whole quota), only for processes in a limited cgroup.
	MetricCPULimitUtilization = "linnix.process.cpu.limit_utilization"
	MetricProcessCreated      = "system.process.created"
	MetricProcessCount        = "system.process.count"
	// Host memory, on a resource that carries host.name only: the
	// incident processor measures oom_risk and a leak's time to OOM with
	// them, so it never reads the host it runs on.
	MetricMemoryLimit     = "system.memory.limit"
	MetricMemoryAvailable = "system.linux.memory.available"
)

// Incident record attributes.
const (
	IncidentID         = "incident.id"
	IncidentRule       = "incident.rule"
	IncidentKind       = "incident.kind"
	IncidentSeverity   = "incident.severity"
	IncidentState      = "incident.state"
	IncidentStarted    = "incident.started"
	IncidentConfidence = "incident.confidence"
	IncidentRepeat     = "incident.repeat"
	IncidentEvidence   = "incident.evidence"
	IncidentActions    = "incident.actions"

	AnalysisStatus     = "incident.analysis.status"
	AnalysisReason     = "incident.analysis.reason"
	AnalysisLatency    = "incident.analysis.latency"
	AnalysisClass      = "incident.analysis.class"
	AnalysisConfidence = "incident.analysis.confidence"
	AnalysisSummary    = "incident.analysis.summary"
	AnalysisRootCause  = "incident.analysis.root_cause"
	AnalysisActions    = "incident.analysis.actions"
	AnalysisCitedFacts = "incident.analysis.cited_facts"

	GenAIRequestModel      = "gen_ai.request.model"
	GenAIUsageInputTokens  = "gen_ai.usage.input_tokens"
	GenAIUsageOutputTokens = "gen_ai.usage.output_tokens"
	GenAITokenType         = "gen_ai.token.type"
)

// Incident states.
const (
	StateFiring   = "firing"
	StateResolved = "resolved"
)

// Incident severities, lowest first.
const (
	SeverityInfo     = "info"
	SeverityWarning  = "warning"
	SeverityCritical = "critical"
)

// Severities lists the severities from lowest to highest.
var Severities = []string{SeverityInfo, SeverityWarning, SeverityCritical}

// SeverityRank orders severities (info 0 < warning 1 < critical 2); -1 for
// an unknown one.
func SeverityRank(s string) int {
	for i, v := range Severities {
		if v == s {
			return i
		}
	}
	return -1
}

// Reasons of the receiver's lost-event counter (the reason attribute of
// otelcol_linnix.receiver.events.lost).
const (
	LostRingFull          = "ring_full"
	LostKernelRecursion   = "kernel_recursion"
	LostReadError         = "read_error"
	LostDecodeError       = "decode_error"
	LostQueueFull         = "queue_full"
	LostDownstreamRefused = "downstream_refused"
)

// Signal is a kind of record the components exchange.
type Signal int

const (
	// Lifecycle records: fork, exec and exit log records.
	Lifecycle Signal = iota
	// ProcessMetrics: per-process data points.
	ProcessMetrics
)

// Place is where a signal carries an attribute.
type Place int

const (
	// Resource: the resource of the record or data point.
	Resource Place = iota + 1
	// Record: the log record's or data point's own attributes.
	Record
)

func (p Place) String() string {
	if p == Resource {
		return "resource"
	}
	return "record"
}

// processIdentity is what both signals say about a process: the record
// attributes of a lifecycle record, the resource of a process's metrics.
var processIdentity = []string{
	ProcessPID, ProcessParentPID, ProcessExecutableName, ProcessExecutablePath,
	ProcessCommand, ProcessCreationTime, ProcessLinuxCgroup, ContainerID,
}

var places = func() map[Signal]map[string]Place {
	life := map[string]Place{HostName: Resource, OSType: Resource}
	metrics := map[string]Place{HostName: Resource, ProcessOwner: Resource, CgroupMemoryLimit: Resource, CgroupCPULimit: Resource,
		ProcessCPUMode: Record, ProcessState: Record}
	for _, k := range processIdentity {
		life[k], metrics[k] = Record, Resource
	}
	for _, k := range []string{ProcessCommandArgs, CommandArgsTruncated, ProcessUserID, ProcessRealUserID,
		ProcessGroupID, ProcessRealGroupID, CgroupID, ThreadID, ProcessExitCode, ProcessExitTime,
		ProcessLifetime, ProcessExitSignal, ProcessExitCoreDumped,
		ProcessWorkingDirectory, ProcessFileless, OOMKilled, OOMRSS, CgroupMemoryLimit} {
		life[k] = Record
	}
	return map[Signal]map[string]Place{Lifecycle: life, ProcessMetrics: metrics}
}()

// PlaceOf says where sig carries key; ok is false for a key this project
// never writes on sig (it may still come from elsewhere).
func PlaceOf(sig Signal, key string) (Place, bool) {
	p, ok := places[sig][key]
	return p, ok
}
