// Package linnixalertmanagerexporter sends linnix incidents to Prometheus
// Alertmanager (API v2): it posts an alert when an incident fires,
// re-posts it before Alertmanager's resolve_timeout while it keeps firing,
// and resolves it with endsAt. Several endpoints (an HA pair) each receive
// every alert.
//
//go:generate go tool -modfile=../../internal/tools/go.mod mdatagen metadata.yaml
package linnixalertmanagerexporter // import "github.com/linnix-os/otelcol-linnix/exporter/linnixalertmanagerexporter"
