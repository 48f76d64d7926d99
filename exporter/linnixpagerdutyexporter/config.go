package linnixpagerdutyexporter

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"

	"go.opentelemetry.io/collector/config/configopaque"

	"github.com/linnix-os/otelcol-linnix/exporter/linnixpagerdutyexporter/internal/metadata"
	"github.com/linnix-os/otelcol-linnix/internal/alert"
	"github.com/linnix-os/otelcol-linnix/internal/contract"
)

// DefaultEndpoint is the Events API v2.
const DefaultEndpoint = "https://events.pagerduty.com/v2/enqueue"

// pagerDutySeverities are the values the Events API accepts.
var pagerDutySeverities = []string{"critical", "error", "warning", "info"}

// Config of the linnix_pagerduty exporter.
type Config struct {
	// RoutingKey is the integration key of an Events API v2 integration.
	RoutingKey configopaque.String `mapstructure:"routing_key"`
	// SeverityMap maps incident severities to PagerDuty's.
	SeverityMap map[string]string `mapstructure:"severity_map"`
	// Client and ClientURL name the sender in PagerDuty's UI.
	Client    string `mapstructure:"client"`
	ClientURL string `mapstructure:"client_url"`

	// Common: client settings (endpoint, default the Events API v2; TLS,
	// proxy, headers, timeout), sending_queue, retry_on_failure, routing,
	// max_tracked.
	alert.Common `mapstructure:",squash"`
}

// Validate names the field at fault.
func (c *Config) Validate() error {
	var errs []error
	if c.RoutingKey == "" {
		errs = append(errs, errors.New("routing_key: required (the integration key of an Events API v2 integration)"))
	}
	if u, err := url.Parse(c.ClientConfig.Endpoint); c.ClientConfig.Endpoint == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("endpoint: must be an http:// or https:// URL, got %q", c.ClientConfig.Endpoint))
	}
	keys := make([]string, 0, len(c.SeverityMap))
	for k := range c.SeverityMap {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if contract.SeverityRank(k) < 0 {
			errs = append(errs, fmt.Errorf("severity_map: unknown incident severity %q (one of %s)", k, strings.Join(contract.Severities, ", ")))
		}
		if v := c.SeverityMap[k]; !slices.Contains(pagerDutySeverities, v) {
			errs = append(errs, fmt.Errorf("severity_map::%s: unknown PagerDuty severity %q (one of %s)", k, v, strings.Join(pagerDutySeverities, ", ")))
		}
	}
	errs = append(errs, c.Common.Check(metadata.Type, ""))
	return errors.Join(errs...)
}
