// Package incidentprocessor turns process telemetry into incidents: stateful
// rules watch the ebpfprocess receiver's lifecycle records and metrics and
// emit incident log records with a plain-language summary, evidence and
// suggested actions.
//
//go:generate go tool -modfile=../../internal/tools/go.mod mdatagen metadata.yaml
package incidentprocessor // import "github.com/linnix-os/otelcol-linnix/processor/incidentprocessor"
