// Package linnixinsightsexporter keeps a bounded in-memory view of what
// passes through the pipeline (the latest lifecycle records, incidents,
// the latest sample of every reported process, rates and counts) and serves
// it over the versioned HTTP API of internal/insightsapi, for the `linnix`
// command-line tool. Nothing leaves the host unless the API is bound to a
// non-loopback address, which requires a bearer token.
//
//go:generate go tool -modfile=../../internal/tools/go.mod mdatagen metadata.yaml
package linnixinsightsexporter // import "github.com/linnix-os/otelcol-linnix/exporter/linnixinsightsexporter"
