package linnixwebhookexporter

import (
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/config/configopaque"

	"github.com/linnix-os/otelcol-linnix/exporter/linnixwebhookexporter/internal/metadata"
	"github.com/linnix-os/otelcol-linnix/internal/alert"
)

// Config of the linnix_webhook exporter.
type Config struct {
	// URL receives one POST per trigger, update and resolve. Opaque: it
	// may hold a token.
	URL configopaque.String `mapstructure:"url"`
	// Secret, when set, signs every request (HMAC-SHA256 over
	// "<timestamp>.<body>").
	Secret configopaque.String `mapstructure:"secret"`
	// SignatureHeader and TimestampHeader name the signature's headers.
	SignatureHeader string `mapstructure:"signature_header"`
	TimestampHeader string `mapstructure:"timestamp_header"`

	// Common: client settings (TLS, proxy, custom headers, timeout...;
	// endpoint is not used: set url), sending_queue, retry_on_failure,
	// routing, max_tracked.
	alert.Common `mapstructure:",squash"`
}

// Validate names the field at fault.
func (c *Config) Validate() error {
	var errs []error
	if err := alert.CheckURL("url", string(c.URL), "the receiver's URL"); err != nil {
		errs = append(errs, err)
	}
	if c.Secret != "" {
		for name, h := range map[string]string{"signature_header": c.SignatureHeader, "timestamp_header": c.TimestampHeader} {
			if strings.TrimSpace(h) == "" || strings.ContainsAny(h, " :\r\n") {
				errs = append(errs, fmt.Errorf("%s: %q is not a valid header name", name, h))
			}
		}
	}
	errs = append(errs, c.Common.Check(metadata.Type, "url"))
	return errors.Join(errs...)
}
