// Package linnixwebhookexporter sends linnix incident records to any HTTP
// endpoint as a versioned JSON document (trigger, update, resolve),
// optionally signed with HMAC-SHA256 over a timestamp and the body.
//
//go:generate go tool -modfile=../../internal/tools/go.mod mdatagen metadata.yaml
package linnixwebhookexporter // import "github.com/linnix-os/otelcol-linnix/exporter/linnixwebhookexporter"
