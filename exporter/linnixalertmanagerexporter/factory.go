package linnixalertmanagerexporter

import (
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"

	"github.com/linnix-os/otelcol-linnix/exporter/linnixalertmanagerexporter/internal/metadata"
	"github.com/linnix-os/otelcol-linnix/internal/alert"
)

func createDefaultConfig() component.Config {
	return &Config{Common: alert.NewCommon(), ResolveTimeout: 5 * time.Minute}
}

// NewFactory creates the linnix_alertmanager exporter's factory.
func NewFactory() exporter.Factory {
	return alert.NewFactory(alert.Spec{Type: metadata.Type, Stability: metadata.LogsStability,
		DefaultConfig: createDefaultConfig, Telemetry: newTelemetry, New: newDestination})
}

// newDestination: the re-post loop shares the Pusher's state and lock.
func newDestination(cfg component.Config, set exporter.Settings, tel alert.Telemetry) (alert.Destination, alert.Options, error) {
	d := newAlertmanager(cfg.(*Config), set, tel)
	return d, alert.Options{State: d.state, Lock: &d.mu}, nil
}

func newTelemetry(set component.TelemetrySettings) (alert.Telemetry, error) {
	tb, err := metadata.NewTelemetryBuilder(set)
	return alert.Telemetry{Sent: tb.LinnixExporterAlertsSent, Failed: tb.LinnixExporterAlertsFailed,
		Skipped: tb.LinnixExporterRecordsSkipped, Close: tb.Shutdown}, err
}
