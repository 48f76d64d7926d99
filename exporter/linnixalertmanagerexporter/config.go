package linnixalertmanagerexporter

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"time"

	"github.com/linnix-os/otelcol-linnix/exporter/linnixalertmanagerexporter/internal/metadata"
	"github.com/linnix-os/otelcol-linnix/internal/alert"
)

// Config of the linnix_alertmanager exporter.
type Config struct {
	// Endpoints are Alertmanager base URLs (http://am-1:9093); each gets
	// every alert at /api/v2/alerts.
	Endpoints []string `mapstructure:"endpoints"`
	// ResolveTimeout is Alertmanager's resolve_timeout: a firing alert not
	// re-posted within it resolves on its own.
	ResolveTimeout time.Duration `mapstructure:"resolve_timeout"`
	// RepostInterval: how often firing alerts are re-posted; default half
	// of resolve_timeout.
	RepostInterval time.Duration `mapstructure:"repost_interval"`
	// Labels adds labels taken from record (or resource) attributes:
	// label name → attribute key.
	Labels map[string]string `mapstructure:"labels"`
	// StaticLabels adds fixed labels (env: prod).
	StaticLabels map[string]string `mapstructure:"static_labels"`
	// GeneratorURL is a link shown with every alert (a dashboard).
	GeneratorURL string `mapstructure:"generator_url"`

	// Common: client settings (TLS, proxy, headers (auth), timeout;
	// endpoint is not used: set endpoints), sending_queue,
	// retry_on_failure, routing, max_tracked (which also bounds the firing
	// incidents re-posted).
	alert.Common `mapstructure:",squash"`
}

var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// reserved labels every alert carries.
var reserved = map[string]bool{"alertname": true, "severity": true, "host": true, "incident_id": true}

// Validate names the field at fault.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Endpoints) == 0 {
		errs = append(errs, errors.New("endpoints: required (one Alertmanager base URL or more, e.g. http://127.0.0.1:9093)"))
	}
	for i, e := range c.Endpoints {
		if u, err := url.Parse(e); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("endpoints::%d: must be an http:// or https:// URL, got %q", i, e))
		}
	}
	if c.ResolveTimeout <= 0 {
		errs = append(errs, fmt.Errorf("resolve_timeout: must be positive, got %v", c.ResolveTimeout))
	}
	if c.RepostInterval < 0 || (c.RepostInterval > 0 && c.ResolveTimeout > 0 && c.RepostInterval >= c.ResolveTimeout) {
		errs = append(errs, fmt.Errorf("repost_interval: must be positive and below resolve_timeout (%v), got %v", c.ResolveTimeout, c.RepostInterval))
	}
	for _, f := range []struct {
		name string
		m    map[string]string
	}{{"labels", c.Labels}, {"static_labels", c.StaticLabels}} {
		names := make([]string, 0, len(f.m))
		for k := range f.m {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			switch {
			case !labelName.MatchString(k):
				errs = append(errs, fmt.Errorf("%s::%s: not a valid Alertmanager label name ([a-zA-Z_][a-zA-Z0-9_]*)", f.name, k))
			case reserved[k]:
				errs = append(errs, fmt.Errorf("%s::%s: reserved, every alert carries it", f.name, k))
			case f.m[k] == "":
				errs = append(errs, fmt.Errorf("%s::%s: empty value", f.name, k))
			}
		}
	}
	errs = append(errs, c.Common.Check(metadata.Type, "endpoints"))
	return errors.Join(errs...)
}

func (c *Config) repostInterval() time.Duration {
	if c.RepostInterval > 0 {
		return c.RepostInterval
	}
	return c.ResolveTimeout / 2
}
