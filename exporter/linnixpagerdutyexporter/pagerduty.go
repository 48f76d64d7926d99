package linnixpagerdutyexporter

import (
	"context"
	"time"

	"github.com/linnix-os/otelcol-linnix/internal/alert"
)

// Limits of the Events API v2.
const (
	maxSummary  = 1024
	maxDedupKey = 255
)

// Event is an Events API v2 event.
type Event struct {
	RoutingKey  string   `json:"routing_key"`
	EventAction string   `json:"event_action"`
	DedupKey    string   `json:"dedup_key"`
	Payload     *Payload `json:"payload,omitempty"`
	Client      string   `json:"client,omitempty"`
	ClientURL   string   `json:"client_url,omitempty"`
}

// Payload is a trigger's payload.
type Payload struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source"`
	Severity      string         `json:"severity"`
	Timestamp     string         `json:"timestamp,omitempty"`
	Component     string         `json:"component,omitempty"`
	Group         string         `json:"group,omitempty"`
	Class         string         `json:"class,omitempty"`
	CustomDetails map[string]any `json:"custom_details,omitempty"`
}

// NewEvent maps an alert to an event: a trigger for a firing incident and
// its repeats (PagerDuty folds a trigger with a known dedup key into the
// open alert), a resolve with only the keys for a resolved one.
func NewEvent(a *alert.Alert, routingKey string, sev map[string]string, client, clientURL string) Event {
	ev := Event{RoutingKey: routingKey, DedupKey: alert.Truncate(a.ID, maxDedupKey), Client: client, ClientURL: clientURL}
	if a.Action == alert.Resolve {
		ev.EventAction = "resolve"
		return ev
	}
	ev.EventAction = "trigger"
	severity, ok := sev[a.Severity]
	if !ok {
		severity = "info"
	}
	source := a.Host
	if source == "" {
		source = "unknown"
	}
	details := map[string]any{
		"incident_id": a.ID,
		"rule":        a.Rule,
		"kind":        a.Kind,
		"severity":    a.Severity,
		"confidence":  a.Confidence,
		"started":     a.Started.UTC().Format(time.RFC3339Nano),
		"evidence":    a.Evidence,
		"actions":     a.Actions,
	}
	if a.Repeat {
		details["repeat"] = true
	}
	if p := a.Process; p != (alert.Process{}) {
		proc := map[string]any{}
		for k, v := range map[string]any{"pid": p.PID, "parent_pid": p.ParentPID} {
			if v.(int64) != 0 {
				proc[k] = v
			}
		}
		for k, v := range map[string]string{"executable": p.Executable, "executable_path": p.ExecutablePath,
			"creation_time": p.CreationTime, "cgroup": p.Cgroup, "container_id": p.ContainerID} {
			if v != "" {
				proc[k] = v
			}
		}
		details["process"] = proc
	}
	if an := a.Analysis; an != nil {
		details["analysis"] = map[string]any{"class": an.Class, "confidence": an.Confidence, "summary": an.Summary,
			"root_cause": an.RootCause, "actions": an.Actions, "model": an.Model}
	} else if a.AnalysisStatus != "" {
		details["analysis"] = map[string]any{"status": a.AnalysisStatus}
	}
	class := a.Kind
	if a.Analysis != nil && a.Analysis.Class != "" {
		class = a.Analysis.Class
	}
	ev.Payload = &Payload{
		Summary:       alert.Truncate(a.Summary, maxSummary),
		Source:        source,
		Severity:      severity,
		Timestamp:     a.Started.UTC().Format(time.RFC3339Nano),
		Component:     a.Process.Executable,
		Group:         a.Rule,
		Class:         class,
		CustomDetails: details,
	}
	return ev
}

type pagerDuty struct {
	alert.HTTP
	cfg *Config
}

func (p *pagerDuty) Send(ctx context.Context, a *alert.Alert) (any, error) {
	ev := NewEvent(a, string(p.cfg.RoutingKey), p.cfg.SeverityMap, p.cfg.Client, p.cfg.ClientURL)
	return nil, p.PostJSON(ctx, p.cfg.ClientConfig.Endpoint, ev, nil)
}
