package incidentprocessor

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/metadata"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/rules"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	if err := sub.Unmarshal(cfg); err != nil {
		return nil, err
	}
	return cfg, confmap.Validate(cfg)
}

func TestLoadConfig(t *testing.T) {
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	assert.Equal(t, createDefaultConfig(), cfg)
	rs, err := cfg.loadRules()
	require.NoError(t, err)
	assert.Len(t, rs, 9, "the default rules")

	cfg, err = loadConfig(t, "custom")
	require.NoError(t, err)
	assert.False(t, cfg.Passthrough)
	assert.Equal(t, 2*time.Second, cfg.EvaluationInterval)
	assert.Equal(t, 500, cfg.MaxTracked)
	assert.Equal(t, 30*time.Second, cfg.StaleAfter)
	rs, err = cfg.loadRules()
	require.NoError(t, err)
	require.Len(t, rs, 2)
	assert.Equal(t, "make_storm", rs[0].Name)
	assert.Equal(t, rules.GroupParent, rs[0].GroupBy)
	assert.Equal(t, "java_spin", rs[1].Name)
	assert.Equal(t, time.Minute, rs[1].For)
}

func TestLLMConfig(t *testing.T) {
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	assert.False(t, cfg.LLM.HasValue(), "off unless configured")

	cfg, err = loadConfig(t, "llm")
	require.NoError(t, err)
	require.True(t, cfg.LLM.HasValue())
	lc := cfg.LLM.Get()
	assert.Equal(t, "http://127.0.0.1:8080/v1", lc.Endpoint)
	assert.Equal(t, "linnix", lc.Model)
	assert.Equal(t, "secret-key", string(lc.APIKey))
	assert.Equal(t, 10*time.Second, lc.Timeout, "default timeout")
	assert.Equal(t, 5*time.Second, lc.maxWait())
	assert.Equal(t, 2, lc.MaxConcurrency)
	assert.Equal(t, 64, lc.QueueSize)
	assert.True(t, lc.Retry.Enabled)
	assert.Equal(t, 5, lc.CircuitBreaker.Failures)
	assert.Len(t, lc.Headers, 1)

	_, err = loadConfig(t, "bad_llm")
	require.Error(t, err)
	for _, want := range []string{"endpoint: must be an http(s) base URL", "model: missing", "max_concurrency: must be at least 1", "temperature: must be between 0 and 2"} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestLLMRedactionConfig(t *testing.T) {
	cfg, err := loadConfig(t, "llm")
	require.NoError(t, err)
	assert.Empty(t, cfg.LLM.Get().Redaction.Rules, "the built-in rules only by default")

	cfg, err = loadConfig(t, "llm_redaction")
	require.NoError(t, err)
	rs := cfg.LLM.Get().Redaction.Rules
	require.Len(t, rs, 2)
	assert.Equal(t, "acme_([A-Za-z0-9]+)", rs[0].Pattern)
	assert.Equal(t, "mytool", rs[1].Executable)
	assert.Equal(t, "--license", rs[1].Flag)

	_, err = loadConfig(t, "bad_llm_redaction")
	require.Error(t, err)
	for _, want := range []string{"llm: redaction::rules[0]: pattern: error parsing regexp", "redaction::rules[1]: executable:"} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestBadConfigsNameRuleAndField(t *testing.T) {
	for name, want := range map[string]string{
		"bad_kind":      `rule "spin": kind: unknown kind "thresholdish"`,
		"bad_where":     `rule "storm": where:`,
		"bad_duration":  `rule "spin": for: time: invalid duration "forever"`,
		"bad_unit":      `rule "cpu_spin": for: time: unknown unit "x" in duration "3x"`,
		"bad_value":     `rule "spin": value: `,
		"unnamed_bad":   `'rules[1]' rule without a name: window: time: invalid duration "soon"`,
		"unknown_field": `rule "spin": threshold: unknown field`,
		"bad_override":  `rule "cpu_spin": op: must be one of >, >=, <, <=, got "=="`,
		"missing_field": `rule "leak": metric: missing`,
		"no_rules":      "rules: no rules",
		"bad_interval":  "evaluation_interval: must be at least 100ms",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := loadConfig(t, name)
			require.Error(t, err)
			assert.Contains(t, err.Error(), want)
		})
	}
}

// ruleNamed returns the active rule of that name.
func ruleNamed(t *testing.T, cfg *Config, name string) *rules.Rule {
	t.Helper()
	rs, err := cfg.loadRules()
	require.NoError(t, err)
	for _, r := range rs {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no rule %s", name)
	return nil
}

func TestPartialOverridesOfBuiltInRules(t *testing.T) {
	builtIn := ruleNamed(t, createDefaultConfig().(*Config), "cpu_spin")

	// Inline: only for changes; the summary, metric, value... stay.
	cfg, err := loadConfig(t, "override_for")
	require.NoError(t, err)
	r := ruleNamed(t, cfg, "cpu_spin")
	assert.Equal(t, 10*time.Second, r.For)
	assert.Equal(t, builtIn.Summary, r.Summary)
	assert.Equal(t, builtIn.Metric, r.Metric)
	assert.True(t, r.PerSecond)
	assert.Equal(t, builtIn.Where, r.Where)
	assert.InDelta(t, 0.95, r.Value, 1e-9)
	assert.Equal(t, builtIn.Cooldown, r.Cooldown)
	assert.Len(t, r.Actions, len(builtIn.Actions))

	// Severity only.
	cfg, err = loadConfig(t, "override_severity")
	require.NoError(t, err)
	r = ruleNamed(t, cfg, "oom_risk")
	assert.Equal(t, rules.SeverityWarning, r.Severity)
	assert.Equal(t, rules.KindRatio, r.Kind)
	assert.Equal(t, 30*time.Second, r.For)

	// From a rules file, then inline on top of it.
	cfg, err = loadConfig(t, "override_file")
	require.NoError(t, err)
	r = ruleNamed(t, cfg, "cpu_spin")
	assert.Equal(t, 20*time.Second, r.For, "from the file")
	assert.InDelta(t, 0.5, r.Value, 1e-9, "inline, on top of the file's for")
	assert.Equal(t, builtIn.Summary, r.Summary)
	r = ruleNamed(t, cfg, "fork_storm")
	assert.Equal(t, rules.SeverityInfo, r.Severity, "from the file")
	assert.Equal(t, "fork", r.Event)

	// With a kind, a rule replaces the built-in as a whole.
	cfg, err = loadConfig(t, "override_replace")
	require.NoError(t, err)
	r = ruleNamed(t, cfg, "cpu_spin")
	assert.Equal(t, "x", r.Summary)
	assert.Zero(t, r.For)
	assert.False(t, r.PerSecond)
}
