// Package linnixpagerdutyexporter sends linnix incident records to the
// PagerDuty Events API v2: trigger on firing, resolve on resolved, with the
// incident id as dedup key.
//
//go:generate go tool -modfile=../../internal/tools/go.mod mdatagen metadata.yaml
package linnixpagerdutyexporter // import "github.com/linnix-os/otelcol-linnix/exporter/linnixpagerdutyexporter"
