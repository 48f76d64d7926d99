//go:build !linux

package ebpfprocessreceiver

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"
)

type ebpfReceiver struct {
	logs    consumer.Logs
	metrics consumer.Metrics
}

func newReceiver(receiver.Settings, *Config) *ebpfReceiver { return &ebpfReceiver{} }

func (*ebpfReceiver) Start(context.Context, component.Host) error {
	return errors.New("the ebpfprocess receiver is only supported on Linux")
}

func (*ebpfReceiver) Shutdown(context.Context) error { return nil }
