package alert

import (
	"context"
	"errors"
	"sync"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/linnix-os/otelcol-linnix/internal/pdatautil"
)

// Reasons a record is skipped (the reason attribute of
// otelcol_linnix_exporter_records_skipped).
const (
	SkipNotIncident = "not_incident"
	SkipMalformed   = "malformed"
	SkipFiltered    = "filtered"
	SkipDuplicate   = "duplicate"
	SkipUnsupported = "unsupported" // an action the destination has no use for (Slack: a repeat)
)

// Telemetry is an exporter's own counters, from its generated
// TelemetryBuilder.
type Telemetry struct {
	Sent    metric.Int64Counter // by action
	Failed  metric.Int64Counter // by reason
	Skipped metric.Int64Counter // by reason
	// Exporter is the component id (linnix_slack/team-a), an attribute of
	// every point: without it two instances' points collide in the
	// collector's Prometheus endpoint.
	Exporter string
	// Close, if set, releases the counters at shutdown (the generated
	// TelemetryBuilder's Shutdown).
	Close func()
}

// SendFunc delivers one alert. It returns what to re-post while the
// incident fires (nil if nothing), or an error classified by Classify.
type SendFunc func(ctx context.Context, a *Alert) (payload any, err error)

// Pusher is the push function every linnix alert exporter hands to
// exporterhelper: it maps, routes, deduplicates and sends incident records
// one by one, in order.
type Pusher struct {
	Route  Route
	State  *State
	Send   SendFunc
	Tel    Telemetry
	Logger *zap.Logger
	// Skip, if set, drops actions the destination does not send.
	Skip func(*Alert) bool
	// Lock, if set, is held while an alert is sent and its state
	// recorded, so a concurrent re-post never sees a half-done resolve.
	Lock sync.Locker
}

func (t Telemetry) attr(k, v string) metric.AddOption {
	return metric.WithAttributeSet(attribute.NewSet(attribute.String("exporter", t.Exporter), attribute.String(k, v)))
}

func (t Telemetry) actionAttr(a Action) metric.AddOption { return t.attr("action", string(a)) }

func (t Telemetry) reasonAttr(r string) metric.AddOption { return t.attr("reason", r) }

// Push sends the incident records of ld. On a retryable failure it returns
// a consumererror.Logs holding the records not yet delivered, so the retry
// (and the persistent queue) resends only those; a permanent failure is
// logged, counted, and the next record goes on.
func (p *Pusher) Push(ctx context.Context, ld plog.Logs) error {
	var notIncident int64
	defer func() {
		if notIncident > 0 {
			p.Tel.Skipped.Add(ctx, notIncident, p.Tel.reasonAttr(SkipNotIncident))
		}
	}()
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				if !IsIncident(lr) {
					notIncident++
					continue
				}
				a, err := FromRecord(rl.Resource(), lr)
				if err != nil {
					p.Tel.Skipped.Add(ctx, 1, p.Tel.reasonAttr(SkipMalformed))
					p.Logger.Warn("Skipping an incident record", zap.Error(err))
					continue
				}
				if !p.Route.Allows(&a) {
					p.Tel.Skipped.Add(ctx, 1, p.Tel.reasonAttr(SkipFiltered))
					continue
				}
				if p.Skip != nil && p.Skip(&a) {
					p.Tel.Skipped.Add(ctx, 1, p.Tel.reasonAttr(SkipUnsupported))
					continue
				}
				err = p.sendOne(ctx, &a)
				if err == nil {
					continue
				}
				if errors.Is(err, errDuplicate) {
					p.Tel.Skipped.Add(ctx, 1, p.Tel.reasonAttr(SkipDuplicate))
					continue
				}
				if !isCounted(err) {
					p.Tel.Failed.Add(ctx, 1, p.Tel.reasonAttr(Reason(err)))
				}
				if consumererror.IsPermanent(err) {
					p.Logger.Error("Destination refused the alert; dropped",
						zap.String("incident.id", a.ID), zap.String("action", string(a.Action)), zap.Error(err))
					continue
				}
				return consumererror.NewLogs(err, remainder(ld, i, j, k))
			}
		}
	}
	return nil
}

var errDuplicate = errors.New("duplicate")

func (p *Pusher) sendOne(ctx context.Context, a *Alert) error {
	if p.Lock != nil {
		p.Lock.Lock()
		defer p.Lock.Unlock()
	}
	if !p.State.ShouldSend(a) {
		return errDuplicate
	}
	payload, err := p.Send(ctx, a)
	if err != nil {
		return err
	}
	p.State.Delivered(a, payload)
	p.Tel.Sent.Add(ctx, 1, p.Tel.actionAttr(a.Action))
	return nil
}

// remainder copies the incident records of ld from position (i, j, k) on.
func remainder(ld plog.Logs, i0, j0, k0 int) plog.Logs {
	return pdatautil.Select(ld, func(i, j, k int, lr plog.LogRecord) bool {
		after := i > i0 || i == i0 && (j > j0 || j == j0 && k >= k0)
		return after && IsIncident(lr)
	})
}

// FailedAttr is the attributes of a failed delivery's count.
func (t Telemetry) FailedAttr(err error) metric.AddOption { return t.reasonAttr(Reason(err)) }

// SentAttr is the attributes of a delivery's count.
func (t Telemetry) SentAttr(a Action) metric.AddOption { return t.actionAttr(a) }

// counted is a failure the destination has already counted (once per
// endpoint that failed): Push does not count it again.
type counted struct{ error }

func (c counted) Unwrap() error { return c.error }

// Counted marks err as counted by the destination.
func Counted(err error) error {
	if err == nil {
		return nil
	}
	return counted{err}
}

func isCounted(err error) bool {
	_, ok := errors.AsType[counted](err)
	return ok
}
