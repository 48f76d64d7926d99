package alert

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/linnix-os/otelcol-linnix/internal/pdatautil"
)

// Destination is what differs between the exporters: how an alert is
// encoded and posted. Embedding HTTP gives Start and Shutdown.
type Destination interface {
	// Start builds the HTTP client (host holds the auth extensions).
	Start(ctx context.Context, host component.Host) error
	// Send delivers one alert; see SendFunc.
	Send(ctx context.Context, a *Alert) (payload any, err error)
	Shutdown(ctx context.Context) error
}

// Options of a destination that not every exporter sets.
type Options struct {
	// Skip and Lock: see Pusher.
	Skip func(*Alert) bool
	Lock sync.Locker
	// State, if set, is used instead of a new one (Alertmanager re-posts
	// from it).
	State *State
}

// Spec is what NewFactory needs of a linnix alert exporter.
type Spec struct {
	Type      component.Type
	Stability component.StabilityLevel
	// DefaultConfig is a *Config that embeds Common (see NewCommon).
	DefaultConfig component.CreateDefaultConfigFunc
	// Telemetry builds the exporter's counters from its generated
	// TelemetryBuilder.
	Telemetry func(component.TelemetrySettings) (Telemetry, error)
	// New builds the destination of a (validated) config; tel has its
	// Exporter attribute set.
	New func(cfg component.Config, set exporter.Settings, tel Telemetry) (Destination, Options, error)
}

// NewFactory is the factory of a linnix alert exporter: logs only, each
// instance an exporterhelper exporter around a Pusher (see NewLogs).
func NewFactory(s Spec) exporter.Factory {
	return exporter.NewFactory(s.Type, s.DefaultConfig, exporter.WithLogs(func(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
		tel, err := s.Telemetry(set.TelemetrySettings)
		if err != nil {
			return nil, err
		}
		tel.Exporter = set.ID.String()
		d, opts, err := s.New(cfg, set, tel)
		if err != nil {
			return nil, err
		}
		return NewLogs(ctx, set, cfg, tel, opts, d)
	}, s.Stability))
}

// NewLogs is exporterhelper.NewLogs around a Pusher for d: the queue,
// retry, the standard exporter telemetry and the lifecycle come from the
// helper, configured by the Common part of cfg.
func NewLogs(ctx context.Context, set exporter.Settings, cfg component.Config, tel Telemetry, opts Options, d Destination) (exporter.Logs, error) {
	c := cfg.(interface{ AlertCommon() *Common }).AlertCommon()
	st := opts.State
	if st == nil {
		st = NewState(c.MaxTracked)
	}
	p := &Pusher{Route: c.Route, State: st, Send: d.Send, Tel: tel, Logger: set.Logger, Skip: opts.Skip, Lock: opts.Lock}
	inner, err := exporterhelper.NewLogs(ctx, set, cfg, p.Push,
		exporterhelper.WithStart(d.Start),
		exporterhelper.WithShutdown(func(ctx context.Context) error {
			err := d.Shutdown(ctx)
			if tel.Close != nil {
				tel.Close()
			}
			return err
		}),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		// The HTTP client's timeout bounds each attempt.
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{Timeout: 0}),
		exporterhelper.WithRetry(c.RetryConfig),
		exporterhelper.WithQueue(c.QueueConfig),
	)
	if err != nil {
		return nil, err
	}
	return incidentsOnly{Logs: inner, tel: tel}, nil
}

// incidentsOnly drops every record but incidents before the queue: an
// alert exporter placed in a pipeline that also carries lifecycle records
// must not fill its (persistent) queue with them while its destination is
// down. What it drops is counted as skipped, not_incident.
type incidentsOnly struct {
	exporter.Logs
	tel Telemetry
}

func (e incidentsOnly) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	total, incidents := ld.LogRecordCount(), 0
	pdatautil.LogRecords(ld, func(_ plog.ResourceLogs, _ plog.ScopeLogs, lr plog.LogRecord) {
		if IsIncident(lr) {
			incidents++
		}
	})
	if incidents == total {
		return e.Logs.ConsumeLogs(ctx, ld)
	}
	e.tel.Skipped.Add(ctx, int64(total-incidents), e.tel.reasonAttr(SkipNotIncident))
	if incidents == 0 {
		return nil
	}
	out := pdatautil.Select(ld, func(_, _, _ int, lr plog.LogRecord) bool { return IsIncident(lr) })
	return e.Logs.ConsumeLogs(ctx, out)
}

// HTTP is a destination's HTTP client: built at Start from the
// exporter's confighttp settings, its idle connections closed at Shutdown.
type HTTP struct {
	config   *confighttp.ClientConfig
	settings component.TelemetrySettings
	client   *http.Client
}

// NewHTTP is the client of c, for the exporter of set.
func NewHTTP(c *confighttp.ClientConfig, set exporter.Settings) HTTP {
	return HTTP{config: c, settings: set.TelemetrySettings}
}

// Start builds the client.
func (h *HTTP) Start(ctx context.Context, host component.Host) error {
	c, err := h.config.ToClient(ctx, host.GetExtensions(), h.settings)
	h.client = c
	return err
}

// Shutdown closes the idle connections.
func (h *HTTP) Shutdown(context.Context) error {
	if h.client != nil {
		h.client.CloseIdleConnections()
	}
	return nil
}

// Encode is v as JSON; a failure is permanent (FailEncode).
func Encode(v any) ([]byte, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, Permanent(FailEncode, err)
	}
	return body, nil
}

// Post sends a JSON body to url (see Post for the outcome).
func (h *HTTP) Post(ctx context.Context, url string, body []byte, header http.Header) error {
	return Post(ctx, h.client, url, "application/json", body, header)
}

// PostJSON sends v as JSON to url; sign, if set, gives headers computed
// from the body (a signature).
func (h *HTTP) PostJSON(ctx context.Context, url string, v any, sign func(body []byte) http.Header) error {
	body, err := Encode(v)
	if err != nil {
		return err
	}
	var header http.Header
	if sign != nil {
		header = sign(body)
	}
	return h.Post(ctx, url, body, header)
}
