package incidentprocessor

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"

	"go.opentelemetry.io/collector/component"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/zap"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
	"github.com/linnix-os/otelcol-linnix/internal/redact"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/expr"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/rules"
)

// Config of the incident processor.
type Config struct {
	// Passthrough forwards the input unchanged (default true); false keeps
	// only the incidents.
	Passthrough bool `mapstructure:"passthrough"`
	// DefaultRules includes the built-in rule set (default true).
	DefaultRules bool `mapstructure:"default_rules"`
	// RulesFile is a YAML file with a top-level rules: list.
	RulesFile string `mapstructure:"rules_file"`
	// Rules are inline rules; one named like a default or file rule replaces it.
	Rules []rules.Rule `mapstructure:"rules"`
	// EvaluationInterval is how often every rule is evaluated.
	EvaluationInterval time.Duration `mapstructure:"evaluation_interval"`
	// MaxTracked caps the rule states (one per rule and subject); the least
	// recently updated is evicted beyond it.
	MaxTracked int `mapstructure:"max_tracked"`
	// StaleAfter forgets a metric series not updated for this long (its
	// incident resolves).
	StaleAfter time.Duration `mapstructure:"stale_after"`
	// LLM adds an analysis by a model behind an OpenAI-compatible endpoint;
	// off unless the section is present.
	LLM configoptional.Optional[LLMConfig] `mapstructure:"llm"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// LLMConfig configures incident analysis by an LLM. HTTP settings (endpoint,
// timeout, tls, headers) are the collector's confighttp client settings.
type LLMConfig struct {
	confighttp.ClientConfig `mapstructure:",squash"`
	// Model is sent as the request's model.
	Model string `mapstructure:"model"`
	// APIKey is sent as a bearer token.
	APIKey configopaque.String `mapstructure:"api_key"`
	// MaxConcurrency bounds requests in flight.
	MaxConcurrency int `mapstructure:"max_concurrency"`
	// QueueSize bounds incidents waiting for a worker; beyond it an incident
	// goes out at once without analysis (status skipped).
	QueueSize int `mapstructure:"queue_size"`
	// MaxWait is how long an incident may be held for its analysis before
	// it goes out without it. 0 means the timeout.
	MaxWait time.Duration `mapstructure:"max_wait"`
	// MaxTokens caps the answer; Temperature is the sampling temperature.
	MaxTokens   int     `mapstructure:"max_tokens"`
	Temperature float64 `mapstructure:"temperature"`
	// Retry on connection failures, 5xx and 429 (honouring Retry-After),
	// always within MaxWait.
	Retry configretry.BackOffConfig `mapstructure:"retry"`
	// CircuitBreaker stops asking after consecutive failures.
	CircuitBreaker CircuitBreakerConfig `mapstructure:"circuit_breaker"`
	// Redaction adds rules to the built-in ones that mask command lines in
	// the prompt (the receiver's redaction type), so that a gateway applies
	// the user's rules before anything reaches the model.
	Redaction redact.Config `mapstructure:"redaction"`
}

// CircuitBreakerConfig opens the circuit after Failures consecutive failed
// analyses (errors and timeouts) for OpenFor.
type CircuitBreakerConfig struct {
	Failures int           `mapstructure:"failures"`
	OpenFor  time.Duration `mapstructure:"open_for"`
}

func defaultLLMConfig() LLMConfig {
	hc := confighttp.NewDefaultClientConfig()
	hc.Timeout = 10 * time.Second
	retry := configretry.NewDefaultBackOffConfig()
	retry.InitialInterval = 250 * time.Millisecond
	retry.MaxInterval = 2 * time.Second
	return LLMConfig{
		ClientConfig:   hc,
		MaxConcurrency: 2,
		QueueSize:      64,
		MaxTokens:      1024,
		Temperature:    0.2,
		Retry:          retry,
		CircuitBreaker: CircuitBreakerConfig{Failures: 5, OpenFor: 30 * time.Second},
	}
}

// maxWait is the bound on holding an incident.
func (c *LLMConfig) maxWait() time.Duration {
	if c.MaxWait > 0 {
		return c.MaxWait
	}
	return c.Timeout
}

// Validate checks the llm section field by field.
func (c *LLMConfig) Validate() error {
	var errs []error
	if u, err := url.Parse(c.Endpoint); c.Endpoint == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("endpoint: must be an http(s) base URL such as http://127.0.0.1:8080/v1, got %q", c.Endpoint))
	}
	if c.Model == "" {
		errs = append(errs, errors.New("model: missing: the model name the endpoint serves"))
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("timeout: must be positive, got %v", c.Timeout))
	}
	if c.MaxWait < 0 {
		errs = append(errs, fmt.Errorf("max_wait: must not be negative, got %v", c.MaxWait))
	}
	if c.MaxConcurrency < 1 {
		errs = append(errs, fmt.Errorf("max_concurrency: must be at least 1, got %d", c.MaxConcurrency))
	}
	if c.QueueSize < 1 {
		errs = append(errs, fmt.Errorf("queue_size: must be at least 1, got %d", c.QueueSize))
	}
	if c.MaxTokens < 0 {
		errs = append(errs, fmt.Errorf("max_tokens: must not be negative, got %d", c.MaxTokens))
	}
	if c.Temperature < 0 || c.Temperature > 2 {
		errs = append(errs, fmt.Errorf("temperature: must be between 0 and 2, got %v", c.Temperature))
	}
	if c.Retry.Enabled && (c.Retry.InitialInterval <= 0 || c.Retry.MaxInterval < c.Retry.InitialInterval) {
		errs = append(errs, fmt.Errorf("retry: initial_interval must be positive and max_interval at least as long, got %v and %v", c.Retry.InitialInterval, c.Retry.MaxInterval))
	}
	if c.CircuitBreaker.Failures < 0 || c.CircuitBreaker.OpenFor < 0 {
		errs = append(errs, errors.New("circuit_breaker: failures and open_for must not be negative"))
	}
	if err := c.Redaction.Check("redaction::"); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Validate loads and checks every rule: unknown kinds, missing fields, bad
// durations and bad where expressions fail with the rule's name and field.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.EvaluationInterval < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("evaluation_interval: must be at least 100ms, got %v", cfg.EvaluationInterval))
	}
	if cfg.MaxTracked <= 0 {
		errs = append(errs, fmt.Errorf("max_tracked: must be positive, got %d", cfg.MaxTracked))
	}
	if cfg.StaleAfter <= 0 {
		errs = append(errs, fmt.Errorf("stale_after: must be positive, got %v", cfg.StaleAfter))
	}
	if _, err := cfg.loadRules(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// loadRules assembles and validates the active rules.
func (cfg *Config) loadRules() ([]*rules.Rule, error) {
	rs, err := rules.Set(cfg.DefaultRules, cfg.RulesFile, cfg.Rules, checkWhere)
	if err == nil && len(rs) == 0 {
		err = errors.New("rules: no rules: set default_rules: true, rules_file or rules")
	}
	return rs, err
}

// checkWhere compiles a rule's where for the input its kind reads.
func checkWhere(r *rules.Rule) error {
	set := component.TelemetrySettings{Logger: zap.NewNop(), MeterProvider: metricnoop.NewMeterProvider(), TracerProvider: tracenoop.NewTracerProvider()}
	if r.IsLogRule() {
		if _, err := expr.NewLog(r.Where, set); err != nil {
			return err
		}
		return expr.CheckPaths(r.Where, contract.Lifecycle)
	}
	if _, err := expr.NewDataPoint(r.Where, set); err != nil {
		return err
	}
	return expr.CheckPaths(r.Where, contract.ProcessMetrics)
}
