package linnixinsightsexporter

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/linnix-os/otelcol-linnix/exporter/linnixinsightsexporter/internal/metadata"
	"github.com/linnix-os/otelcol-linnix/internal/sharedcomponent"
)

// NewFactory creates the linnix_insights exporter's factory.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(metadata.Type, func() component.Config { return createDefaultConfig() },
		exporter.WithLogs(createLogs, metadata.LogsStability),
		exporter.WithMetrics(createMetrics, metadata.MetricsStability))
}

// One instance per configuration serves both signals: one view, one
// listening socket.
var instances sharedcomponent.Map[*Config, *insights]

func shared(set exporter.Settings, cfg *Config) (*sharedcomponent.Component[*insights], error) {
	return instances.LoadOrStore(cfg, func() (*insights, error) { return newInsights(cfg, set.TelemetrySettings) })
}

// options: exporterhelper for the standard sent/failed telemetry and the
// lifecycle, without its queue, retries and timeout: a consume is an
// in-memory update that cannot fail transiently, and a queue would only
// delay what the API shows.
func options(c *sharedcomponent.Component[*insights]) []exporterhelper.Option {
	return []exporterhelper.Option{
		exporterhelper.WithStart(c.Start),
		exporterhelper.WithShutdown(c.Shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{Timeout: 0}),
	}
}

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c, err := shared(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	return exporterhelper.NewLogs(ctx, set, cfg, c.Value.consumeLogs, options(c)...)
}

func createMetrics(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Metrics, error) {
	c, err := shared(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	return exporterhelper.NewMetrics(ctx, set, cfg, c.Value.consumeMetrics, options(c)...)
}
