package linnixslackexporter

import (
	"errors"
	"fmt"
	"strings"
	"text/template"
	"time"

	"go.opentelemetry.io/collector/config/configopaque"

	"github.com/linnix-os/otelcol-linnix/exporter/linnixslackexporter/internal/metadata"
	"github.com/linnix-os/otelcol-linnix/internal/alert"
	"github.com/linnix-os/otelcol-linnix/internal/contract"
)

// Config of the linnix_slack exporter.
type Config struct {
	// WebhookURL is the incoming webhook (https://hooks.slack.com/services/…).
	WebhookURL configopaque.String `mapstructure:"webhook_url"`
	// RateLimit: messages a second and burst, per webhook.
	RateLimit RateLimit `mapstructure:"rate_limit"`
	// NotifyRepeats posts a message for each repeat of a firing incident
	// too (Slack cannot edit a message, so each is a new one).
	NotifyRepeats bool `mapstructure:"notify_repeats"`
	// Templates (Go text/template over the alert) of the message titles
	// and the notification text.
	Templates Templates `mapstructure:"templates"`

	// Common: client settings (TLS, proxy, headers, timeout; endpoint is
	// not used: set webhook_url), sending_queue, retry_on_failure,
	// routing, max_tracked.
	alert.Common `mapstructure:",squash"`
}

// RateLimit is a token bucket.
type RateLimit struct {
	PerSecond float64 `mapstructure:"per_second"`
	Burst     int     `mapstructure:"burst"`
}

// Templates of a message. Fields: see the README.
type Templates struct {
	FiringTitle   string `mapstructure:"firing_title"`
	ResolvedTitle string `mapstructure:"resolved_title"`
	Text          string `mapstructure:"text"`
}

// Default templates.
const (
	DefaultFiringTitle   = `{{.SeverityEmoji}} {{.Severity}}: {{.Summary}}`
	DefaultResolvedTitle = `:white_check_mark: Resolved: {{.Summary}}`
	DefaultText          = `[{{.Severity}}] {{.Rule}} on {{.Host}}: {{.Summary}}`
)

// Validate names the field at fault.
func (c *Config) Validate() error {
	var errs []error
	if err := alert.CheckURL("webhook_url", string(c.WebhookURL), "a Slack incoming webhook URL"); err != nil {
		errs = append(errs, err)
	}
	if c.RateLimit.PerSecond <= 0 {
		errs = append(errs, fmt.Errorf("rate_limit::per_second: must be positive, got %v", c.RateLimit.PerSecond))
	}
	if c.RateLimit.Burst < 1 {
		errs = append(errs, fmt.Errorf("rate_limit::burst: must be at least 1, got %d", c.RateLimit.Burst))
	}
	if _, err := c.Templates.parse(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.Common.Check(metadata.Type, "webhook_url"))
	return errors.Join(errs...)
}

type templates struct{ firingTitle, resolvedTitle, text *template.Template }

// parse parses every template and runs it on a sample alert, so a field
// that does not exist fails here, not at the first incident.
func (t Templates) parse() (templates, error) {
	sample := &view{Alert: &alert.Alert{ID: "047e83a903603901", Rule: "cpu_spin", Kind: "threshold",
		Severity: contract.SeverityCritical, State: contract.StateFiring, Action: alert.Trigger,
		Summary: "java pid 4412 sustained 97% CPU for 3m", Host: "web-3", Started: time.Unix(0, 0),
		Time: time.Unix(180, 0), Confidence: 0.9, Evidence: map[string]any{"value": 0.97},
		Actions: []string{"top -p 4412"}, Process: alert.Process{PID: 4412, Executable: "java"},
		Analysis: &alert.Analysis{Class: "cpu_spin", Confidence: 0.8, Summary: "s", RootCause: "r"}}}
	var out templates
	var errs []error
	for _, f := range []struct {
		name string
		src  string
		dst  **template.Template
	}{
		{"templates::firing_title", t.FiringTitle, &out.firingTitle},
		{"templates::resolved_title", t.ResolvedTitle, &out.resolvedTitle},
		{"templates::text", t.Text, &out.text},
	} {
		if strings.TrimSpace(f.src) == "" {
			errs = append(errs, fmt.Errorf("%s: must not be empty", f.name))
			continue
		}
		tpl, err := template.New(f.name).Option("missingkey=error").Parse(f.src)
		if err == nil {
			err = tpl.Execute(&strings.Builder{}, sample)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.name, err))
			continue
		}
		*f.dst = tpl
	}
	return out, errors.Join(errs...)
}
