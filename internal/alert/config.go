package alert

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// Common is the configuration every linnix alert exporter has; each
// exporter's Config embeds it with `mapstructure:",squash"`, so its keys
// sit at the exporter's top level.
type Common struct {
	// ClientConfig: TLS, proxy, headers (auth), timeout; endpoint only
	// where the exporter says so (PagerDuty).
	ClientConfig confighttp.ClientConfig                                  `mapstructure:",squash"`
	QueueConfig  configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	RetryConfig  configretry.BackOffConfig                                `mapstructure:"retry_on_failure"`
	Route        `mapstructure:",squash"`
	// MaxTracked bounds the incidents remembered for deduplication (and,
	// in Alertmanager, the firing ones re-posted).
	MaxTracked int `mapstructure:"max_tracked"`
}

// NewCommon is the defaults: a 10 s client timeout, DefaultQueue,
// DefaultRetry, DefaultMaxTracked.
func NewCommon() Common {
	client := confighttp.NewDefaultClientConfig()
	client.Timeout = 10 * time.Second
	return Common{ClientConfig: client, QueueConfig: DefaultQueue(), RetryConfig: DefaultRetry(), MaxTracked: DefaultMaxTracked}
}

// AlertCommon gives NewFactory the shared part of an exporter's Config
// (promoted to the Config that embeds Common).
func (c *Common) AlertCommon() *Common { return c }

// Check names the shared field at fault. instead, when not empty, is the
// key to set rather than endpoint, for an exporter that does not use
// endpoint. (Not Validate: see Route.Check.)
func (c *Common) Check(typ component.Type, instead string) error {
	var errs []error
	if instead != "" && c.ClientConfig.Endpoint != "" {
		errs = append(errs, fmt.Errorf("endpoint: not used by %s; set %s", typ, instead))
	}
	if err := c.Route.Check(); err != nil {
		errs = append(errs, err)
	}
	if c.MaxTracked < 0 {
		errs = append(errs, fmt.Errorf("max_tracked: must not be negative, got %d", c.MaxTracked))
	}
	return errors.Join(errs...)
}

// CheckURL names key when v is not an http:// or https:// URL; required
// says what to set when v is empty.
func CheckURL(key, v, required string) error {
	if v == "" {
		return fmt.Errorf("%s: required (%s)", key, required)
	}
	if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s: must be an http:// or https:// URL", key)
	}
	return nil
}

// DefaultQueue is exporterhelper's sending queue with one consumer, so a
// resolve never overtakes its trigger.
func DefaultQueue() configoptional.Optional[exporterhelper.QueueBatchConfig] {
	q := exporterhelper.NewDefaultQueueConfig()
	q.NumConsumers = 1
	return configoptional.Some(q)
}

// DefaultRetry retries from 1s up to every 30s until delivered: the
// queue, not time, bounds what waits.
func DefaultRetry() configretry.BackOffConfig {
	r := configretry.NewDefaultBackOffConfig()
	r.InitialInterval = time.Second
	r.MaxElapsedTime = 0
	return r
}
