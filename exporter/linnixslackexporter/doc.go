// Package linnixslackexporter posts linnix incidents to a Slack incoming
// webhook as Block Kit messages: one when an incident fires, one when it
// resolves, at most about one a second per webhook.
//
//go:generate go tool -modfile=../../internal/tools/go.mod mdatagen metadata.yaml
package linnixslackexporter // import "github.com/linnix-os/otelcol-linnix/exporter/linnixslackexporter"
