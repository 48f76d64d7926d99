package incidentprocessor

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/engine"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/llm"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/rules"
)

const (
	incidentEventName = contract.EventIncident
	scopeName         = contract.ScopeProcessor
)

// severityNumber maps a rule's severity to the log data model; a resolve is
// informational whatever the rule's severity, so that it never pages.
func severityNumber(inc *engine.Incident) (plog.SeverityNumber, string) {
	if inc.State == engine.Resolved {
		return plog.SeverityNumberInfo, "INFO"
	}
	switch inc.Severity {
	case rules.SeverityCritical:
		return plog.SeverityNumberError2, "CRITICAL"
	case rules.SeverityWarning:
		return plog.SeverityNumberWarn, "WARN"
	}
	return plog.SeverityNumberInfo, "INFO"
}

// toLogs builds one incident log record each, under a resource naming the
// host the processor runs on.
func toLogs(incidents []engine.Incident, host, version string, now time.Time) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr(contract.HostName, host)
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(scopeName)
	sl.Scope().SetVersion(version)
	for i := range incidents {
		fillRecord(sl.LogRecords().AppendEmpty(), &incidents[i], now)
	}
	return ld
}

func fillRecord(lr plog.LogRecord, inc *engine.Incident, now time.Time) {
	lr.SetEventName(incidentEventName)
	lr.SetTimestamp(pcommon.NewTimestampFromTime(inc.At))
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(now))
	num, text := severityNumber(inc)
	lr.SetSeverityNumber(num)
	lr.SetSeverityText(text)
	lr.Body().SetStr(inc.Summary)

	a := lr.Attributes()
	a.PutStr(contract.IncidentID, inc.ID)
	a.PutStr(contract.IncidentRule, inc.Rule)
	a.PutStr(contract.IncidentKind, string(inc.Kind))
	a.PutStr(contract.IncidentSeverity, string(inc.Severity))
	a.PutStr(contract.IncidentState, string(inc.State))
	a.PutStr(contract.IncidentStarted, inc.Started.UTC().Format(time.RFC3339Nano))
	a.PutDouble(contract.IncidentConfidence, inc.Confidence)
	if inc.Repeat {
		a.PutBool(contract.IncidentRepeat, true)
	}
	ev := a.PutEmptyMap(contract.IncidentEvidence)
	_ = ev.FromRaw(inc.Evidence)
	acts := a.PutEmptySlice(contract.IncidentActions)
	for _, s := range inc.Actions {
		acts.AppendEmpty().SetStr(s)
	}

	s := inc.Subject
	if s.PID != 0 {
		a.PutInt(contract.ProcessPID, s.PID)
	}
	if s.PPID != 0 {
		a.PutInt(contract.ProcessParentPID, s.PPID)
	}
	for _, kv := range [...][2]string{
		{contract.ProcessExecutableName, s.Exe},
		{contract.ProcessExecutablePath, s.ExePath},
		{contract.ProcessCreationTime, s.Created},
		{contract.ProcessLinuxCgroup, s.Cgroup},
		{contract.ContainerID, s.Container},
		{contract.HostName, s.Host},
	} {
		if kv[1] != "" {
			a.PutStr(kv[0], kv[1])
		}
	}
}

// fillAnalysis adds the LLM analysis (or why there is none) to a record,
// with the GenAI conventions' model and token attributes.
func fillAnalysis(lr plog.LogRecord, out llm.Outcome, model string) {
	a := lr.Attributes()
	a.PutStr(contract.AnalysisStatus, out.Status)
	if out.Reason != "" {
		a.PutStr(contract.AnalysisReason, out.Reason)
	}
	if out.Latency > 0 {
		a.PutDouble(contract.AnalysisLatency, out.Latency.Seconds())
	}
	if out.Status != llm.StatusSkipped {
		a.PutStr(contract.GenAIRequestModel, model)
	}
	if out.InputTokens > 0 || out.OutputTokens > 0 {
		a.PutInt(contract.GenAIUsageInputTokens, out.InputTokens)
		a.PutInt(contract.GenAIUsageOutputTokens, out.OutputTokens)
	}
	an := out.Analysis
	if an == nil {
		return
	}
	a.PutStr(contract.AnalysisClass, an.Class)
	a.PutDouble(contract.AnalysisConfidence, an.Confidence)
	a.PutStr(contract.AnalysisSummary, an.Summary)
	a.PutStr(contract.AnalysisRootCause, an.RootCause)
	acts := a.PutEmptySlice(contract.AnalysisActions)
	for _, s := range an.Actions {
		acts.AppendEmpty().SetStr(s)
	}
	cited := a.PutEmptySlice(contract.AnalysisCitedFacts)
	for _, s := range an.CitedFacts {
		cited.AppendEmpty().SetStr(s)
	}
}
