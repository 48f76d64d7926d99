package incidentprocessor

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/zap"

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

	// prevent unkeyed literal initialization
	_ struct{}
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
		_, err := expr.NewLog(r.Where, set)
		return err
	}
	_, err := expr.NewDataPoint(r.Where, set)
	return err
}
