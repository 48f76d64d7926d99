// Package insightsapi is the contract between the linnix_insights exporter,
// which serves a bounded in-memory view of the pipeline over HTTP, and the
// `linnix` command-line tool, which reads it. Both sides import these types;
// neither imports the other. The API is versioned by its path prefix: a
// field may be added to a v1 document, never renamed or removed.
package insightsapi

import (
	"time"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
)

// Version is the path prefix of every route.
const Version = "/v1"

// Routes.
const (
	PathIncidents = Version + "/incidents"  // GET: IncidentList
	PathIncident  = Version + "/incidents/" // GET PathIncident+ID: Incident, 404 Error
	PathProcesses = Version + "/processes"  // GET ?sort=cpu|memory&limit=N: ProcessList
	PathEvents    = Version + "/events"     // GET: Server-Sent Events, see below
	PathStats     = Version + "/stats"      // GET: Stats
)

// Query parameters of PathProcesses and PathEvents.
const (
	QuerySort       = "sort"       // processes: cpu (default) or memory
	QueryLimit      = "limit"      // processes: at most N (default 20)
	QueryType       = "type"       // events: comma-separated EventType values
	QueryExecutable = "executable" // events: exact process.executable.name
	QueryPID        = "pid"        // events: process.pid
	QueryContainer  = "container"  // events: container.id, or a prefix of it
	QuerySeverity   = "severity"   // events: incidents at or above info|warning|critical
	QueryReplay     = "replay"     // events: send up to N retained records first
)

// Sort orders of PathProcesses.
const (
	SortCPU    = "cpu"
	SortMemory = "memory"
)

// EventType is the short name of a record on the event stream.
type EventType string

const (
	EventFork     EventType = "fork"
	EventExec     EventType = "exec"
	EventExit     EventType = "exit"
	EventIncident EventType = "incident"
)

// EventTypes lists every EventType.
var EventTypes = []EventType{EventFork, EventExec, EventExit, EventIncident}

// EventTypeOf is the stream's short name of a record's EventName; ok is
// false for a record the stream does not carry.
func EventTypeOf(eventName string) (t EventType, ok bool) {
	t, ok = eventTypes[eventName]
	return t, ok
}

var eventTypes = map[string]EventType{
	contract.EventFork:     EventFork,
	contract.EventExec:     EventExec,
	contract.EventExit:     EventExit,
	contract.EventIncident: EventIncident,
}

// Server-Sent Event names on PathEvents. Each `event: record` carries one
// Event as JSON in its data; `event: dropped` carries a Dropped and means
// this client fell behind and missed records (other clients and the
// pipeline did not).
const (
	SSERecord  = "record"
	SSEDropped = "dropped"
)

// Event is one lifecycle record or incident on the stream. Attributes holds
// every attribute of the record, resource attributes included, under their
// OpenTelemetry names (see docs/records.md).
type Event struct {
	Seq        uint64         `json:"seq"`
	Time       time.Time      `json:"time"`
	Type       EventType      `json:"type"`
	PID        int64          `json:"pid,omitempty"`
	PPID       int64          `json:"ppid,omitempty"`
	Executable string         `json:"executable,omitempty"`
	Command    string         `json:"command,omitempty"`
	Container  string         `json:"container,omitempty"`
	Severity   string         `json:"severity,omitempty"` // incidents only
	Body       string         `json:"body,omitempty"`
	Attributes map[string]any `json:"attributes,omitempty"`
}

// Dropped is the data of an `event: dropped` message: how many records this
// client missed since the last such message, and in total.
type Dropped struct {
	Missed uint64 `json:"missed"`
	Total  uint64 `json:"total"`
}

// IncidentList is the answer of PathIncidents: the open incidents and the
// recently resolved ones, newest first.
type IncidentList struct {
	Incidents []Incident `json:"incidents"`
}

// Incident is the latest state of one incident, as the incident processor
// reported it.
type Incident struct {
	ID         string    `json:"id"`
	Rule       string    `json:"rule"`
	Kind       string    `json:"kind,omitempty"`
	Severity   string    `json:"severity"`
	State      string    `json:"state"` // firing or resolved
	Started    time.Time `json:"started"`
	Updated    time.Time `json:"updated"`
	Summary    string    `json:"summary"`
	Repeat     int64     `json:"repeat,omitempty"`
	Confidence float64   `json:"confidence,omitempty"`
	Evidence   []string  `json:"evidence,omitempty"`
	Actions    []string  `json:"actions,omitempty"`
	Host       string    `json:"host,omitempty"`
	Analysis   *Analysis `json:"analysis,omitempty"`
	// Attributes holds every other attribute of the latest record.
	Attributes map[string]any `json:"attributes,omitempty"`
}

// Analysis is the LLM's grounded analysis of an incident, when there is one.
type Analysis struct {
	Status     string   `json:"status"`
	Reason     string   `json:"reason,omitempty"`
	Class      string   `json:"class,omitempty"`
	Confidence float64  `json:"confidence,omitempty"`
	Summary    string   `json:"summary,omitempty"`
	RootCause  string   `json:"root_cause,omitempty"`
	Actions    []string `json:"actions,omitempty"`
	CitedFacts []string `json:"cited_facts,omitempty"`
	Model      string   `json:"model,omitempty"`
}

// ProcessList is the answer of PathProcesses.
type ProcessList struct {
	Collected time.Time `json:"collected"` // time of the newest sample
	Total     int       `json:"total"`     // processes known before the limit
	Processes []Process `json:"processes"`
}

// Process is the latest sample of one reported process.
type Process struct {
	PID         int64     `json:"pid"`
	PPID        int64     `json:"ppid,omitempty"`
	Executable  string    `json:"executable"`
	Command     string    `json:"command,omitempty"`
	Owner       string    `json:"owner,omitempty"`
	Cgroup      string    `json:"cgroup,omitempty"`
	Container   string    `json:"container,omitempty"`
	CPUCores    float64   `json:"cpu_cores"`    // cores used over the last interval
	CPUTime     float64   `json:"cpu_time"`     // seconds, user + system
	MemoryRSS   int64     `json:"memory_rss"`   // bytes
	MemoryVirt  int64     `json:"memory_virt"`  // bytes
	Threads     int64     `json:"threads"`      //
	MemoryLimit int64     `json:"memory_limit"` // bytes of its cgroup's limit, 0 when unlimited
	Sampled     time.Time `json:"sampled"`
}

// Stats is the answer of PathStats.
type Stats struct {
	Started time.Time `json:"started"` // when the exporter started
	Now     time.Time `json:"now"`
	// Records seen by the exporter since it started, by EventType.
	Records map[EventType]uint64 `json:"records"`
	// Lifecycle records per second over the last minute, by EventType.
	Rates map[EventType]float64 `json:"rates"`
	// The receiver's lost-event counters by reason, and the collector's own
	// CPU seconds and resident memory, read from its telemetry endpoint;
	// SelfMetricsError says why they are absent.
	Lost             map[string]float64 `json:"lost"`
	CollectorCPU     float64            `json:"collector_cpu_seconds"`
	CollectorRSS     int64              `json:"collector_rss_bytes"`
	SelfMetricsError string             `json:"self_metrics_error,omitempty"`
	Incidents        struct {
		Firing   int `json:"firing"`
		Resolved int `json:"resolved"`
	} `json:"incidents"`
	Processes int `json:"processes"` // processes in the latest samples
	// Clients of PathEvents now, and records dropped for slow clients.
	StreamClients int    `json:"stream_clients"`
	StreamDropped uint64 `json:"stream_dropped"`
}

// Error is the body of every non-2xx answer.
type Error struct {
	Error string `json:"error"`
}

// DefaultEndpoint is where the exporter listens unless configured
// otherwise, and where the CLI looks first.
const DefaultEndpoint = "127.0.0.1:7070"

// HeaderAuthorization carries `Bearer <token>` when the exporter has an
// auth_token.
const HeaderAuthorization = "Authorization"
