// Package ebpfprocessreceiver captures every fork, exec and exit on a Linux
// host with eBPF and emits one OTLP log record per lifecycle event.
//
//go:generate go tool -modfile=../../internal/tools/go.mod mdatagen metadata.yaml
package ebpfprocessreceiver // import "github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver"
