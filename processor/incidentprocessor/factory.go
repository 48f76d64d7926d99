package incidentprocessor

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/linnix-os/otelcol-linnix/internal/sharedcomponent"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/metadata"
)

// NewFactory creates the factory of the incident processor.
func NewFactory() processor.Factory {
	return processor.NewFactory(
		metadata.Type,
		createDefaultConfig,
		processor.WithLogs(createLogs, metadata.LogsStability),
		processor.WithMetrics(createMetrics, metadata.MetricsStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		Passthrough:        true,
		DefaultRules:       true,
		EvaluationInterval: time.Second,
		MaxTracked:         10000,
		StaleAfter:         time.Minute,
		LLM:                configoptional.Default(defaultLLMConfig()),
	}
}

// One instance per configuration sees the logs and the metrics pipelines it
// is placed in, and emits incidents into its logs pipeline.
var processors sharedcomponent.Map[*Config, *incidentProcessor]

func shared(set processor.Settings, cfg *Config) *sharedcomponent.Component[*incidentProcessor] {
	c, _ := processors.LoadOrStore(cfg, func() (*incidentProcessor, error) { return newProcessor(set, cfg), nil })
	return c
}

// The input is only read, so pipelines share it without a copy.
var readOnly = processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: false})

func createLogs(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	c := shared(set, cfg.(*Config))
	// Incidents go to the first logs pipeline the processor is in; each
	// pipeline's own data passes through to that pipeline.
	if c.Value.nextLogs == nil {
		c.Value.nextLogs = next
	}
	c.Value.logsPipelines++
	return processorhelper.NewLogs(ctx, set, cfg, next, c.Value.processLogs,
		processorhelper.WithStart(c.Start), processorhelper.WithShutdown(c.Shutdown), readOnly)
}

func createMetrics(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Metrics) (processor.Metrics, error) {
	c := shared(set, cfg.(*Config))
	c.Value.metricsPipelines++
	return processorhelper.NewMetrics(ctx, set, cfg, next, c.Value.processMetrics,
		processorhelper.WithStart(c.Start), processorhelper.WithShutdown(c.Shutdown), readOnly)
}
