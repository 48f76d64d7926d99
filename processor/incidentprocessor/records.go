package incidentprocessor

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/engine"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/llm"
)

const (
	incidentEventName = "linnix.incident"
	scopeName         = "github.com/linnix-os/otelcol-linnix/processor/incidentprocessor"
)

// severityNumber maps a rule's severity to the log data model; a resolve is
// informational whatever the rule's severity, so that it never pages.
func severityNumber(inc *engine.Incident) (plog.SeverityNumber, string) {
	if inc.State == engine.Resolved {
		return plog.SeverityNumberInfo, "INFO"
	}
	switch inc.Severity {
	case "critical":
		return plog.SeverityNumberError2, "CRITICAL"
	case "warning":
		return plog.SeverityNumberWarn, "WARN"
	}
	return plog.SeverityNumberInfo, "INFO"
}

// toLogs builds one incident log record each, under a resource naming the
// host the processor runs on.
func toLogs(incidents []engine.Incident, host, version string, now time.Time) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("host.name", host)
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
	a.PutStr("incident.id", inc.ID)
	a.PutStr("incident.rule", inc.Rule)
	a.PutStr("incident.kind", inc.Kind)
	a.PutStr("incident.severity", inc.Severity)
	a.PutStr("incident.state", inc.State)
	a.PutStr("incident.started", inc.Started.UTC().Format(time.RFC3339Nano))
	a.PutDouble("incident.confidence", inc.Confidence)
	if inc.Repeat {
		a.PutBool("incident.repeat", true)
	}
	ev := a.PutEmptyMap("incident.evidence")
	_ = ev.FromRaw(inc.Evidence)
	acts := a.PutEmptySlice("incident.actions")
	for _, s := range inc.Actions {
		acts.AppendEmpty().SetStr(s)
	}

	s := inc.Subject
	if s.PID != 0 {
		a.PutInt("process.pid", s.PID)
	}
	if s.PPID != 0 {
		a.PutInt("process.parent_pid", s.PPID)
	}
	for _, kv := range [...][2]string{
		{"process.executable.name", s.Exe},
		{"process.executable.path", s.ExePath},
		{"process.creation.time", s.Created},
		{"process.linux.cgroup", s.Cgroup},
		{"container.id", s.Container},
		{"host.name", s.Host},
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
	a.PutStr("incident.analysis.status", out.Status)
	if out.Reason != "" {
		a.PutStr("incident.analysis.reason", out.Reason)
	}
	if out.Latency > 0 {
		a.PutDouble("incident.analysis.latency", out.Latency.Seconds())
	}
	if out.Status != llm.StatusSkipped {
		a.PutStr("gen_ai.request.model", model)
	}
	if out.InputTokens > 0 || out.OutputTokens > 0 {
		a.PutInt("gen_ai.usage.input_tokens", out.InputTokens)
		a.PutInt("gen_ai.usage.output_tokens", out.OutputTokens)
	}
	an := out.Analysis
	if an == nil {
		return
	}
	a.PutStr("incident.analysis.class", an.Class)
	a.PutDouble("incident.analysis.confidence", an.Confidence)
	a.PutStr("incident.analysis.summary", an.Summary)
	a.PutStr("incident.analysis.root_cause", an.RootCause)
	acts := a.PutEmptySlice("incident.analysis.actions")
	for _, s := range an.Actions {
		acts.AppendEmpty().SetStr(s)
	}
	cited := a.PutEmptySlice("incident.analysis.cited_facts")
	for _, s := range an.CitedFacts {
		cited.AppendEmpty().SetStr(s)
	}
}
