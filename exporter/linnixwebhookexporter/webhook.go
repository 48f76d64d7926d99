package linnixwebhookexporter

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"time"

	"github.com/linnix-os/otelcol-linnix/internal/alert"
)

// Version of the document; a change that is not an added field bumps it.
const Version = "1"

// Document is the JSON body of every request (README: "The document").
type Document struct {
	Version  string   `json:"version"`
	Kind     string   `json:"kind"`
	Action   string   `json:"action"`
	SentAt   string   `json:"sent_at"`
	Incident Incident `json:"incident"`
}

// Incident is the incident record, typed.
type Incident struct {
	ID         string         `json:"id"`
	Rule       string         `json:"rule"`
	Kind       string         `json:"kind"`
	Severity   string         `json:"severity"`
	State      string         `json:"state"`
	Repeat     bool           `json:"repeat"`
	Summary    string         `json:"summary"`
	Host       string         `json:"host,omitempty"`
	Started    string         `json:"started"`
	Time       string         `json:"time"`
	Confidence float64        `json:"confidence"`
	Evidence   map[string]any `json:"evidence"`
	Actions    []string       `json:"actions"`
	Process    *Process       `json:"process,omitempty"`
	Analysis   *Analysis      `json:"analysis,omitempty"`
}

// Process is the incident's subject.
type Process struct {
	PID            int64  `json:"pid,omitempty"`
	ParentPID      int64  `json:"parent_pid,omitempty"`
	Executable     string `json:"executable,omitempty"`
	ExecutablePath string `json:"executable_path,omitempty"`
	CreationTime   string `json:"creation_time,omitempty"`
	Cgroup         string `json:"cgroup,omitempty"`
	ContainerID    string `json:"container_id,omitempty"`
}

// Analysis is the LLM's analysis.
type Analysis struct {
	Status     string   `json:"status,omitempty"`
	Class      string   `json:"class,omitempty"`
	Confidence float64  `json:"confidence"`
	Summary    string   `json:"summary"`
	RootCause  string   `json:"root_cause,omitempty"`
	Actions    []string `json:"actions,omitempty"`
	Model      string   `json:"model,omitempty"`
}

// NewDocument maps an alert to the document.
func NewDocument(a *alert.Alert, now time.Time) Document {
	inc := Incident{
		ID: a.ID, Rule: a.Rule, Kind: a.Kind, Severity: a.Severity, State: a.State, Repeat: a.Repeat,
		Summary: a.Summary, Host: a.Host,
		Started: a.Started.UTC().Format(time.RFC3339Nano), Time: a.Time.UTC().Format(time.RFC3339Nano),
		Confidence: a.Confidence, Evidence: a.Evidence, Actions: a.Actions,
	}
	if inc.Evidence == nil {
		inc.Evidence = map[string]any{}
	}
	if inc.Actions == nil {
		inc.Actions = []string{}
	}
	if p := a.Process; p != (alert.Process{}) {
		inc.Process = &Process{PID: p.PID, ParentPID: p.ParentPID, Executable: p.Executable, ExecutablePath: p.ExecutablePath,
			CreationTime: p.CreationTime, Cgroup: p.Cgroup, ContainerID: p.ContainerID}
	}
	if an := a.Analysis; an != nil {
		inc.Analysis = &Analysis{Status: an.Status, Class: an.Class, Confidence: an.Confidence, Summary: an.Summary,
			RootCause: an.RootCause, Actions: an.Actions, Model: an.Model}
	}
	return Document{Version: Version, Kind: "linnix.incident", Action: string(a.Action),
		SentAt: now.UTC().Format(time.RFC3339Nano), Incident: inc}
}

// Sign is the signature header's value: "sha256=" and the hex HMAC-SHA256
// of "<timestamp>.<body>" with the secret.
func Sign(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

type webhook struct {
	alert.HTTP
	cfg *Config
	now func() time.Time
}

func (w *webhook) Send(ctx context.Context, a *alert.Alert) (any, error) {
	now := w.now()
	return nil, w.PostJSON(ctx, string(w.cfg.URL), NewDocument(a, now), func(body []byte) http.Header {
		if w.cfg.Secret == "" {
			return nil
		}
		ts := strconv.FormatInt(now.Unix(), 10)
		return http.Header{http.CanonicalHeaderKey(w.cfg.TimestampHeader): {ts},
			http.CanonicalHeaderKey(w.cfg.SignatureHeader): {Sign([]byte(w.cfg.Secret), ts, body)}}
	})
}
