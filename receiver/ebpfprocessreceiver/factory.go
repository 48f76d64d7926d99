package ebpfprocessreceiver

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/linnix-os/otelcol-linnix/bpf"
	"github.com/linnix-os/otelcol-linnix/internal/sharedcomponent"
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
		RingBufferSize:     bpf.DefaultRingBuffer,
		CommandArgs:        CommandArgsRedact,
		CommandArgsMaxSize: bpf.DefaultArgvBytes,
		CollectionInterval: 10 * time.Second,
		TopN:               defaultTopN,

		MetricsBuilderConfig: metadata.NewDefaultMetricsBuilderConfig(),
	}
}

// One receiver instance per configuration serves every pipeline it appears
// in, so the BPF programs are loaded once per component ID.
var receivers sharedcomponent.Map[*Config, *ebpfReceiver]

func shared(set receiver.Settings, cfg *Config) *sharedcomponent.Component[*ebpfReceiver] {
	c, _ := receivers.LoadOrStore(cfg, func() (*ebpfReceiver, error) { return newReceiver(set, cfg), nil })
	return c
}

func createLogs(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	c := shared(set, cfg.(*Config))
	c.Value.logs = next
	return c, nil
}

func createMetrics(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Metrics) (receiver.Metrics, error) {
	c := shared(set, cfg.(*Config))
	c.Value.metrics = next
	return c, nil
}
