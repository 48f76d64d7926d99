package linnixpagerdutyexporter

import (
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"

	"github.com/linnix-os/otelcol-linnix/exporter/linnixpagerdutyexporter/internal/metadata"
	"github.com/linnix-os/otelcol-linnix/internal/alert"
	"github.com/linnix-os/otelcol-linnix/internal/contract"
)

func createDefaultConfig() component.Config {
	c := &Config{Common: alert.NewCommon(), Client: "otelcol-linnix", SeverityMap: map[string]string{
		contract.SeverityCritical: "critical",
		contract.SeverityWarning:  "warning",
		contract.SeverityInfo:     "info",
	}}
	c.ClientConfig.Endpoint = DefaultEndpoint
	return c
}

// NewFactory creates the linnix_pagerduty exporter's factory.
func NewFactory() exporter.Factory {
	return alert.NewFactory(alert.Spec{Type: metadata.Type, Stability: metadata.LogsStability,
		DefaultConfig: createDefaultConfig, Telemetry: newTelemetry, New: newPagerDuty})
}

func newPagerDuty(cfg component.Config, set exporter.Settings, _ alert.Telemetry) (alert.Destination, alert.Options, error) {
	c := cfg.(*Config)
	return &pagerDuty{HTTP: alert.NewHTTP(&c.ClientConfig, set), cfg: c}, alert.Options{}, nil
}

func newTelemetry(set component.TelemetrySettings) (alert.Telemetry, error) {
	tb, err := metadata.NewTelemetryBuilder(set)
	return alert.Telemetry{Sent: tb.LinnixExporterAlertsSent, Failed: tb.LinnixExporterAlertsFailed,
		Skipped: tb.LinnixExporterRecordsSkipped, Close: tb.Shutdown}, err
}
