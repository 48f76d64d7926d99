package incidentprocessor

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"

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
var (
	instancesMu sync.Mutex
	instances   = map[*Config]*incidentProcessor{}
)

func instance(set processor.Settings, cfg *Config) *incidentProcessor {
	instancesMu.Lock()
	defer instancesMu.Unlock()
	p, ok := instances[cfg]
	if !ok {
		p = newProcessor(set, cfg, func() {
			instancesMu.Lock()
			delete(instances, cfg)
			instancesMu.Unlock()
		})
		instances[cfg] = p
	}
	return p
}

func createLogs(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	p := instance(set, cfg.(*Config))
	// Incidents go to the first logs pipeline the processor is in; each
	// pipeline's own data passes through to that pipeline.
	if p.nextLogs == nil {
		p.nextLogs = next
	}
	return &logsProcessor{incidentProcessor: p, next: next}, nil
}

func createMetrics(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Metrics) (processor.Metrics, error) {
	p := instance(set, cfg.(*Config))
	return &metricsProcessor{incidentProcessor: p, next: next}, nil
}
