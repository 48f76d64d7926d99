package linnixslackexporter

import (
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"

	"github.com/linnix-os/otelcol-linnix/exporter/linnixslackexporter/internal/metadata"
	"github.com/linnix-os/otelcol-linnix/internal/alert"
)

func createDefaultConfig() component.Config {
	return &Config{
		Common:    alert.NewCommon(),
		RateLimit: RateLimit{PerSecond: 1, Burst: 3},
		Templates: Templates{FiringTitle: DefaultFiringTitle, ResolvedTitle: DefaultResolvedTitle, Text: DefaultText},
	}
}

// NewFactory creates the linnix_slack exporter's factory.
func NewFactory() exporter.Factory {
	return alert.NewFactory(alert.Spec{Type: metadata.Type, Stability: metadata.LogsStability,
		DefaultConfig: createDefaultConfig, Telemetry: newTelemetry, New: newSlack})
}

func newSlack(cfg component.Config, set exporter.Settings, _ alert.Telemetry) (alert.Destination, alert.Options, error) {
	c := cfg.(*Config)
	tpl, err := c.Templates.parse()
	if err != nil {
		return nil, alert.Options{}, err
	}
	limiter := alert.NewLimiter(c.RateLimit.PerSecond, c.RateLimit.Burst)
	skip := func(a *alert.Alert) bool { return a.Action == alert.Update && !c.NotifyRepeats }
	return &slack{HTTP: alert.NewHTTP(&c.ClientConfig, set), cfg: c, tpl: tpl, limiter: limiter}, alert.Options{Skip: skip}, nil
}

func newTelemetry(set component.TelemetrySettings) (alert.Telemetry, error) {
	tb, err := metadata.NewTelemetryBuilder(set)
	return alert.Telemetry{Sent: tb.LinnixExporterAlertsSent, Failed: tb.LinnixExporterAlertsFailed,
		Skipped: tb.LinnixExporterRecordsSkipped, Close: tb.Shutdown}, err
}
