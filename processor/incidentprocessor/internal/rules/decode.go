package rules

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/confmap"
)

// plain has Rule's fields without its methods, so that decoding into it does
// not call Rule.Unmarshal again.
type plain Rule

// Unmarshal decodes one rule from the collector's configuration or a rules
// file. It records which keys were set, so that a rule named like a built-in
// one without a kind overrides only those, and it decodes key by key, so
// that a bad value is reported with the rule's name and the field (the
// decoder alone would say 'rules[0].for').
func (r *Rule) Unmarshal(conf *confmap.Conf) error {
	raw := conf.ToStringMap()
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	who := "rule without a name"
	if n, ok := raw["name"].(string); ok && n != "" {
		who = fmt.Sprintf("rule %q", n)
	}
	var errs []error
	r.set = map[string]bool{}
	for _, k := range keys {
		if _, ok := fieldIndex[k]; !ok {
			errs = append(errs, fmt.Errorf("%s: %s: unknown field", who, k))
			continue
		}
		if durationKeys[k] {
			d, ok := raw[k].(string)
			if !ok {
				// The decoder would read a bare 30 as 30ns: a rule that
				// silently never fires.
				errs = append(errs, fmt.Errorf("%s: %s: a duration needs a unit, e.g. \"30s\" or \"5m\", got %v", who, k, raw[k]))
				continue
			}
			// The decoder drops the value from a duration's parse error;
			// time's own message shows it.
			if _, err := time.ParseDuration(d); err != nil {
				errs = append(errs, fmt.Errorf("%s: %s: %w", who, k, err))
				continue
			}
		}
		one := confmap.NewFromStringMap(map[string]any{k: raw[k]})
		if err := one.Unmarshal((*plain)(r)); err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: %w", who, k, fieldCause(err, k)))
			continue
		}
		r.set[k] = true
	}
	return errors.Join(errs...)
}

// fieldIndex maps each configuration key to its field of Rule, and
// durationKeys names the keys of time.Duration fields.
var fieldIndex, durationKeys = func() (map[string]int, map[string]bool) {
	index, durations := map[string]int{}, map[string]bool{}
	t := reflect.TypeFor[Rule]()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		key := f.Tag.Get("mapstructure")
		if key == "" {
			continue
		}
		index[key] = i
		if f.Type == reflect.TypeFor[time.Duration]() {
			durations[key] = true
		}
	}
	return index, durations
}()

// override returns base with the fields that r's configuration set; a rule
// built in Go (no record of its keys) sets its non-zero fields.
func (r *Rule) override(base *Rule) *Rule {
	out := *base
	out.summary, out.actions = nil, nil
	out.set = map[string]bool{}
	for k := range base.set {
		out.set[k] = true
	}
	dst, src := reflect.ValueOf(&out).Elem(), reflect.ValueOf(r).Elem()
	for key, i := range fieldIndex {
		if key == "name" {
			continue
		}
		if r.set != nil && !r.set[key] || r.set == nil && src.Field(i).IsZero() {
			continue
		}
		dst.Field(i).Set(src.Field(i))
		out.set[key] = true
	}
	out.Actions = slices.Clone(out.Actions)
	return &out
}

// fieldCause strips the decoder's framing ("decoding failed due to the
// following error(s): 'for' ...") down to what is wrong with the value.
func fieldCause(err error, key string) error {
	var named interface {
		Name() string
		Unwrap() error
	}
	if errors.As(err, &named) && named.Unwrap() != nil {
		return named.Unwrap()
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, "'"+key+"' "); i >= 0 {
		return errors.New(msg[i+len(key)+3:])
	}
	if strings.Contains(msg, "invalid keys") {
		return errors.New("unknown field")
	}
	return err
}
