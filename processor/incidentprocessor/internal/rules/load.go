package rules

import (
	_ "embed"
	"errors"
	"fmt"
	"os"

	"go.opentelemetry.io/collector/confmap"
	"gopkg.in/yaml.v3"
)

//go:embed defaults.yaml
var defaultsYAML []byte

// File is the form of a rules file: the same keys as the processor's
// inline rules.
type File struct {
	Rules []Rule `mapstructure:"rules"`
}

// Parse decodes a rules file. Decoding follows the collector's config rules
// (durations like "3m", unknown keys rejected), so a rule reads the same
// inline and in a file. It does not validate.
func Parse(data []byte) ([]Rule, error) {
	var raw map[string]any
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("not YAML: %w", err)
	}
	var f File
	if err := confmap.NewFromStringMap(raw).Unmarshal(&f); err != nil {
		return nil, err
	}
	return f.Rules, nil
}

// Defaults returns the built-in rule set.
func Defaults() []Rule {
	rs, err := Parse(defaultsYAML)
	if err != nil {
		panic(fmt.Sprintf("built-in rules do not parse: %v", err)) // a test pins them
	}
	return rs
}

// Set assembles the active rules: the defaults (when useDefaults), then the
// rules file, then inline rules. A later rule of the same name replaces an
// earlier one when it has a kind, and otherwise overrides only the fields
// it sets (so that `{name: cpu_spin, for: 10s}` keeps the rest of the
// built-in). Every rule is validated; the error names each rule and field.
func Set(useDefaults bool, file string, inline []Rule, whereCheck func(*Rule) error) ([]*Rule, error) {
	var layers [][]Rule
	if useDefaults {
		layers = append(layers, Defaults())
	}
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("rules_file: %w", err)
		}
		rs, err := Parse(data)
		if err != nil {
			return nil, fmt.Errorf("rules_file %s: %w", file, err)
		}
		layers = append(layers, rs)
	}
	layers = append(layers, inline)

	var out []*Rule
	index := map[string]int{}
	for _, layer := range layers {
		seen := map[string]bool{}
		for i := range layer {
			r := layer[i]
			if seen[r.Name] && r.Name != "" {
				return nil, fmt.Errorf("rule %q is defined twice", r.Name)
			}
			seen[r.Name] = true
			if j, ok := index[r.Name]; ok {
				if r.Kind == "" {
					out[j] = r.override(out[j])
				} else {
					out[j] = &r
				}
				continue
			}
			index[r.Name] = len(out)
			out = append(out, &r)
		}
	}
	var errs []error
	for _, r := range out {
		errs = append(errs, r.Validate(whereCheck))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}
