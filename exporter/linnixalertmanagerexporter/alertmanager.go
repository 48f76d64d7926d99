package linnixalertmanagerexporter

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.uber.org/zap"

	"github.com/linnix-os/otelcol-linnix/internal/alert"
)

// PostableAlert is an element of POST /api/v2/alerts.
type PostableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     string            `json:"startsAt,omitempty"`
	EndsAt       string            `json:"endsAt,omitempty"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// repostBatch caps the alerts of one re-post request.
const repostBatch = 500

type alertmanager struct {
	alert.HTTP
	cfg   *Config
	log   *zap.Logger
	tel   alert.Telemetry
	state *alert.State
	urls  []string

	// mu orders every post: a re-post never lands between a resolve and
	// the state update that stops re-posting it.
	mu   sync.Mutex
	stop chan struct{}
	done chan struct{}
	now  func() time.Time
}

func newAlertmanager(c *Config, set exporter.Settings, tel alert.Telemetry) *alertmanager {
	a := &alertmanager{HTTP: alert.NewHTTP(&c.ClientConfig, set), cfg: c, log: set.Logger, tel: tel,
		state: alert.NewState(c.MaxTracked), now: time.Now}
	for _, e := range c.Endpoints {
		a.urls = append(a.urls, strings.TrimSuffix(e, "/")+"/api/v2/alerts")
	}
	return a
}

// NewPostableAlert maps an alert; labels names label → attribute key.
func NewPostableAlert(a *alert.Alert, labels, static map[string]string, generatorURL string, now time.Time) PostableAlert {
	l := make(map[string]string, 4+len(labels)+len(static))
	for k, v := range static {
		l[k] = v
	}
	for name, key := range labels {
		if v, ok := a.Attr(key); ok && v != "" {
			l[name] = v
		}
	}
	l["alertname"] = a.Rule
	l["severity"] = a.Severity
	l["incident_id"] = a.ID
	if a.Host != "" {
		l["host"] = a.Host
	}
	ann := map[string]string{"summary": a.Summary, "kind": a.Kind, "confidence": strconv.FormatFloat(a.Confidence, 'f', -1, 64)}
	if len(a.Evidence) > 0 {
		ann["evidence"] = a.EvidenceJSON()
	}
	if len(a.Actions) > 0 {
		ann["actions"] = a.ActionsText()
	}
	if s := a.AnalysisText(); s != "" {
		ann["analysis"] = s
	}
	if s := a.Subject(); s != "" {
		ann["process"] = s
	}
	p := PostableAlert{Labels: l, Annotations: ann, StartsAt: a.Started.UTC().Format(time.RFC3339Nano), GeneratorURL: generatorURL}
	if a.Action == alert.Resolve {
		// In the past (Alertmanager resolves it at once), never before
		// startsAt (it would refuse the alert).
		end := a.Time
		if end.After(now) {
			end = now
		}
		if end.Before(a.Started) {
			end = a.Started
		}
		p.EndsAt = end.UTC().Format(time.RFC3339Nano)
	}
	return p
}

func (m *alertmanager) Start(ctx context.Context, host component.Host) error {
	if err := m.HTTP.Start(ctx, host); err != nil {
		return err
	}
	m.stop, m.done = make(chan struct{}), make(chan struct{})
	go m.repostLoop(m.cfg.repostInterval())
	return nil
}

func (m *alertmanager) Shutdown(ctx context.Context) error {
	if m.stop != nil {
		close(m.stop)
		<-m.done
		m.stop = nil
	}
	return m.HTTP.Shutdown(ctx)
}

// Send posts one alert to every endpoint (the caller holds m.mu). It
// succeeds when one endpoint accepted it: the others get it at the next
// re-post.
func (m *alertmanager) Send(ctx context.Context, a *alert.Alert) (any, error) {
	p := NewPostableAlert(a, m.cfg.Labels, m.cfg.StaticLabels, m.cfg.GeneratorURL, m.now())
	if a.Action == alert.Resolve {
		// Resolve exactly the alert that was posted, whatever the
		// resolve record's attributes say.
		if prev, ok := m.state.Payload(a.ID).(PostableAlert); ok {
			p.Labels, p.StartsAt = prev.Labels, prev.StartsAt
		}
	}
	if err := m.post(ctx, []PostableAlert{p}); err != nil {
		return nil, err
	}
	if a.Action == alert.Resolve {
		return nil, nil
	}
	return p, nil
}

// post sends alerts to every endpoint; nil if one accepted them. Each
// endpoint that fails counts each alert failed here, once (the error is
// marked counted: the Pusher does not count it again).
func (m *alertmanager) post(ctx context.Context, alerts []PostableAlert) error {
	body, err := alert.Encode(alerts)
	if err != nil {
		return err
	}
	var errs []error
	for _, u := range m.urls {
		err := m.Post(ctx, u, body, nil)
		if err == nil {
			continue
		}
		m.tel.Failed.Add(ctx, int64(len(alerts)), m.tel.FailedAttr(err))
		if len(m.urls) > 1 {
			m.log.Warn("Alertmanager refused or missed an alert", zap.String("url", u), zap.Error(err))
		}
		errs = append(errs, fmt.Errorf("%s: %w", u, err))
	}
	if len(errs) < len(m.urls) {
		return nil
	}
	joined := errors.Join(errs...)
	for _, e := range errs {
		if !consumererror.IsPermanent(e) {
			// Keep the first retryable one's reason and Retry-After.
			return alert.Counted(&alert.Error{Reason: alert.Reason(e), Err: joined, RetryAfter: alert.RetryAfterOf(e)})
		}
	}
	return alert.Counted(alert.Permanent(alert.Reason(errs[0]), joined))
}

// repostLoop re-posts every firing alert before Alertmanager would
// resolve it on its own.
func (m *alertmanager) repostLoop(every time.Duration) {
	defer close(m.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			m.repost()
		}
	}
}

func (m *alertmanager) repost() {
	m.mu.Lock()
	defer m.mu.Unlock()
	active := m.state.Active()
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.repostInterval())
	defer cancel()
	for len(active) > 0 {
		n := min(len(active), repostBatch)
		batch := make([]PostableAlert, 0, n)
		for _, p := range active[:n] {
			batch = append(batch, p.(PostableAlert))
		}
		active = active[n:]
		if err := m.post(ctx, batch); err == nil {
			m.tel.Sent.Add(ctx, int64(n), m.tel.SentAttr(alert.Repost))
		} else {
			m.log.Warn("Re-posting firing alerts failed; they expire after resolve_timeout unless a later re-post succeeds",
				zap.Int("alerts", n), zap.Error(err))
		}
	}
}
