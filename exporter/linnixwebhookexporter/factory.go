package linnixwebhookexporter

import (
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"

	"github.com/linnix-os/otelcol-linnix/exporter/linnixwebhookexporter/internal/metadata"
	"github.com/linnix-os/otelcol-linnix/internal/alert"
)

func createDefaultConfig() component.Config {
	return &Config{Common: alert.NewCommon(), SignatureHeader: "X-Linnix-Signature", TimestampHeader: "X-Linnix-Timestamp"}
}

// NewFactory creates the linnix_webhook exporter's factory.
func NewFactory() exporter.Factory {
	return alert.NewFactory(alert.Spec{Type: metadata.Type, Stability: metadata.LogsStability,
		DefaultConfig: createDefaultConfig, Telemetry: newTelemetry, New: newWebhook})
}

func newWebhook(cfg component.Config, set exporter.Settings, _ alert.Telemetry) (alert.Destination, alert.Options, error) {
	c := cfg.(*Config)
	return &webhook{HTTP: alert.NewHTTP(&c.ClientConfig, set), cfg: c, now: time.Now}, alert.Options{}, nil
}

func newTelemetry(set component.TelemetrySettings) (alert.Telemetry, error) {
	tb, err := metadata.NewTelemetryBuilder(set)
	return alert.Telemetry{Sent: tb.LinnixExporterAlertsSent, Failed: tb.LinnixExporterAlertsFailed,
		Skipped: tb.LinnixExporterRecordsSkipped, Close: tb.Shutdown}, err
}
