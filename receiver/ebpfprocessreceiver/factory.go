package ebpfprocessreceiver

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver/internal/metadata"
)

// NewFactory creates the factory of the ebpfprocess receiver.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(
		metadata.Type,
		createDefaultConfig,
		receiver.WithLogs(createLogs, metadata.LogsStability),
		receiver.WithMetrics(createMetrics, metadata.MetricsStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		RingBufferSize:     defaultRingBuf,
		CommandArgs:        CommandArgsRedact,
		CommandArgsMaxSize: defaultArgv,
		CollectionInterval: 10 * time.Second,
		TopN:               defaultTopN,

		MetricsBuilderConfig: metadata.NewDefaultMetricsBuilderConfig(),
	}
}

// One receiver instance per configuration serves every pipeline it appears
// in, so the BPF programs are loaded once per component ID.
var (
	instancesMu sync.Mutex
	instances   = map[*Config]*ebpfReceiver{}
)

func instance(set receiver.Settings, cfg *Config) *ebpfReceiver {
	instancesMu.Lock()
	defer instancesMu.Unlock()
	r, ok := instances[cfg]
	if !ok {
		r = newReceiver(set, cfg, func() {
			instancesMu.Lock()
			delete(instances, cfg)
			instancesMu.Unlock()
		})
		instances[cfg] = r
	}
	return r
}

func createLogs(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	r := instance(set, cfg.(*Config))
	r.logs = next
	return r, nil
}

func createMetrics(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Metrics) (receiver.Metrics, error) {
	r := instance(set, cfg.(*Config))
	r.metrics = next
	return r, nil
}
