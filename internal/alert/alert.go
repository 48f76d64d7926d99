// Package alert is what the linnix alert exporters share: the mapping of an
// incident record to an Alert, the routing filter (minimum severity, rule
// allow/deny lists), the per-incident delivery state that deduplicates and
// orders trigger, update and resolve, and the HTTP outcome classification
// (permanent, throttled, retryable) every destination uses.
//
// An Alert carries nothing the record does not: the receiver has already
// redacted command lines, and the incident record never holds them.
package alert // import "github.com/linnix-os/otelcol-linnix/internal/alert"

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
	"github.com/linnix-os/otelcol-linnix/internal/pdatautil"
)

// Action is what a destination is asked to do with an incident.
type Action string

const (
	// Trigger: the incident's first firing record.
	Trigger Action = "trigger"
	// Update: a repeat of a firing incident (incident.repeat).
	Update Action = "update"
	// Resolve: the incident's resolved record.
	Resolve Action = "resolve"
	// Repost: a firing alert posted again so the destination keeps it
	// (Alertmanager, before resolve_timeout); never an incident record's.
	Repost Action = "repost"
)

// Process is the incident's subject, where it has one.
type Process struct {
	PID            int64
	ParentPID      int64
	Executable     string
	ExecutablePath string
	CreationTime   string
	Cgroup         string
	ContainerID    string
}

// Analysis is the LLM's analysis of the incident, when the incident
// processor has an llm section.
type Analysis struct {
	Status     string
	Reason     string
	Class      string
	Confidence float64
	Summary    string
	RootCause  string
	Actions    []string
	Model      string
}

// Alert is one incident record, typed. Templates (Slack) see its fields.
type Alert struct {
	ID         string
	Rule       string
	Kind       string
	Severity   string
	State      string
	Repeat     bool
	Action     Action
	Summary    string
	Host       string
	Started    time.Time
	Time       time.Time
	Confidence float64
	Evidence   map[string]any
	Actions    []string
	Process    Process
	// Analysis is nil without an analysis (or when the analysis failed:
	// AnalysisStatus then says why).
	Analysis       *Analysis
	AnalysisStatus string

	attrs    pcommon.Map
	resAttrs pcommon.Map
}

// ErrMalformed marks an incident record without the attributes every
// incident has.
var ErrMalformed = errors.New("malformed incident record")

// IsIncident says whether a record is an incident record; everything else
// is skipped with one string comparison.
func IsIncident(lr plog.LogRecord) bool { return lr.EventName() == contract.EventIncident }

// FromRecord maps an incident record (docs/records.md) to an Alert.
func FromRecord(res pcommon.Resource, lr plog.LogRecord) (Alert, error) {
	at := lr.Attributes()
	a := Alert{
		ID:         str(at, contract.IncidentID),
		Rule:       str(at, contract.IncidentRule),
		Kind:       str(at, contract.IncidentKind),
		Severity:   str(at, contract.IncidentSeverity),
		State:      str(at, contract.IncidentState),
		Summary:    lr.Body().AsString(),
		Confidence: floatAttr(at, contract.IncidentConfidence),
		Time:       lr.Timestamp().AsTime(),
		attrs:      at,
		resAttrs:   res.Attributes(),
	}
	if a.ID == "" {
		return Alert{}, fmt.Errorf("%w: no %s", ErrMalformed, contract.IncidentID)
	}
	if v, ok := at.Get(contract.IncidentRepeat); ok && v.Type() == pcommon.ValueTypeBool {
		a.Repeat = v.Bool()
	}
	switch {
	case a.State == contract.StateResolved:
		a.Action = Resolve
	case a.State == contract.StateFiring && a.Repeat:
		a.Action = Update
	case a.State == contract.StateFiring:
		a.Action = Trigger
	default:
		return Alert{}, fmt.Errorf("%w: %s %q", ErrMalformed, contract.IncidentState, a.State)
	}
	if lr.Timestamp() == 0 {
		a.Time = lr.ObservedTimestamp().AsTime()
	}
	if s := str(at, contract.IncidentStarted); s != "" {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			a.Started = t
		}
	}
	if a.Started.IsZero() {
		a.Started = a.Time
	}
	if a.Host = str(at, contract.HostName); a.Host == "" {
		a.Host = str(res.Attributes(), contract.HostName)
	}
	if v, ok := at.Get(contract.IncidentEvidence); ok && v.Type() == pcommon.ValueTypeMap {
		a.Evidence = v.Map().AsRaw()
	}
	a.Actions = strs(at, contract.IncidentActions)
	a.Process = Process{
		PID:            pdatautil.Int(at, contract.ProcessPID),
		ParentPID:      pdatautil.Int(at, contract.ProcessParentPID),
		Executable:     str(at, contract.ProcessExecutableName),
		ExecutablePath: str(at, contract.ProcessExecutablePath),
		CreationTime:   str(at, contract.ProcessCreationTime),
		Cgroup:         str(at, contract.ProcessLinuxCgroup),
		ContainerID:    str(at, contract.ContainerID),
	}
	a.AnalysisStatus = str(at, contract.AnalysisStatus)
	if _, ok := at.Get(contract.AnalysisSummary); ok {
		a.Analysis = &Analysis{
			Status:     a.AnalysisStatus,
			Reason:     str(at, contract.AnalysisReason),
			Class:      str(at, contract.AnalysisClass),
			Confidence: floatAttr(at, contract.AnalysisConfidence),
			Summary:    str(at, contract.AnalysisSummary),
			RootCause:  str(at, contract.AnalysisRootCause),
			Actions:    strs(at, contract.AnalysisActions),
			Model:      str(at, contract.GenAIRequestModel),
		}
	}
	return a, nil
}

// Attr is the string form of a record attribute, or of a resource
// attribute when the record has none; ok is false when neither has it.
// It is valid only while the record is (during one push).
func (a *Alert) Attr(key string) (string, bool) {
	if a.attrs != (pcommon.Map{}) {
		if v, ok := a.attrs.Get(key); ok {
			return v.AsString(), true
		}
	}
	if a.resAttrs != (pcommon.Map{}) {
		if v, ok := a.resAttrs.Get(key); ok {
			return v.AsString(), true
		}
	}
	return "", false
}

// EvidenceJSON is the evidence as a JSON object with sorted keys.
func (a *Alert) EvidenceJSON() string {
	if len(a.Evidence) == 0 {
		return "{}"
	}
	b, err := json.Marshal(a.Evidence)
	if err != nil {
		return "{}"
	}
	return string(b)
}

// ActionsText is the suggested actions, one per line.
func (a *Alert) ActionsText() string { return strings.Join(a.Actions, "\n") }

// AnalysisText is the analysis in one paragraph, or "" without one.
func (a *Alert) AnalysisText() string {
	an := a.Analysis
	if an == nil {
		return ""
	}
	var b strings.Builder
	if an.Class != "" {
		fmt.Fprintf(&b, "%s (confidence %.2f): ", an.Class, an.Confidence)
	}
	b.WriteString(an.Summary)
	if an.RootCause != "" {
		b.WriteString(" Root cause: ")
		b.WriteString(an.RootCause)
	}
	return b.String()
}

// Subject names the incident's process in a few words: "java pid 4412".
func (a *Alert) Subject() string {
	switch {
	case a.Process.Executable != "" && a.Process.PID != 0:
		return fmt.Sprintf("%s pid %d", a.Process.Executable, a.Process.PID)
	case a.Process.Executable != "":
		return a.Process.Executable
	case a.Process.PID != 0:
		return fmt.Sprintf("pid %d", a.Process.PID)
	}
	return ""
}

// Truncate cuts s to at most n runes, ending with "…" when cut.
func Truncate(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func str(m pcommon.Map, k string) string {
	if v, ok := m.Get(k); ok {
		if v.Type() == pcommon.ValueTypeStr {
			return v.Str()
		}
		return v.AsString()
	}
	return ""
}

func strs(m pcommon.Map, k string) []string {
	v, ok := m.Get(k)
	if !ok || v.Type() != pcommon.ValueTypeSlice {
		return nil
	}
	s := v.Slice()
	out := make([]string, s.Len())
	for i := range out {
		out[i] = s.At(i).AsString()
	}
	return out
}

// floatAttr is a number attribute, 0 when absent.
func floatAttr(m pcommon.Map, k string) float64 {
	f, _ := pdatautil.Float(m, k)
	return f
}
