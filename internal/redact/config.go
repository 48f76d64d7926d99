package redact

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
)

// Config adds user rules to the built-in ones.
type Config struct {
	// Rules are applied after the built-in rules, which stay in force.
	Rules []Rule `mapstructure:"rules"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// Rule masks one more secret. Either Executable with Flag or Position, or
// Pattern (optionally limited to Executable).
type Rule struct {
	// Executable is the base name of argv[0], e.g. mytool.
	Executable string `mapstructure:"executable"`
	// Subcommand words must come first among the operands (e.g. [login]);
	// Flag and Position then apply after them only.
	Subcommand []string `mapstructure:"subcommand"`
	// Flag's value is secret: the next argument, or after '='.
	Flag string `mapstructure:"flag"`
	// Glued: the value may also be glued to a short Flag (-pSECRET).
	Glued bool `mapstructure:"glued"`
	// Position is the n-th operand (argument that is not a flag) after
	// the subcommand, 1-based; -1 is the last one.
	Position int `mapstructure:"position"`
	// Form says where the secret sits in the value: whole (default),
	// user:pass, user%pass or pass: (openssl style).
	Form string `mapstructure:"form"`
	// Pattern is a regular expression (RE2) matched against each
	// argument; its first group, or the whole match without one, is masked.
	Pattern string `mapstructure:"pattern"`
}

type pattern struct {
	exe string
	re  *regexp.Regexp
}

// Check reports every invalid rule by its position, after prefix, e.g.
// "redaction::rules[2]: pattern: error parsing regexp: …".
func (c Config) Check(prefix string) error {
	_, err := build(c, prefix)
	return err
}

// New returns a redactor with the built-in rules and c's.
func New(c Config) (*Redactor, error) { return build(c, "") }

func mustNew(c Config) *Redactor {
	r, err := New(c)
	if err != nil {
		panic(err)
	}
	return r
}

func build(c Config, prefix string) (*Redactor, error) {
	r := &Redactor{tools: map[string][]*toolRule{}}
	add := func(t tableRule) {
		tr := t.compile()
		for _, exe := range t.Executables {
			r.tools[exe] = append(r.tools[exe], tr)
		}
	}
	for _, t := range builtinRules {
		add(t)
	}
	var errs []error
	for i, u := range c.Rules {
		fail := func(field, format string, a ...any) {
			errs = append(errs, fmt.Errorf("%srules[%d]: %s: %s", prefix, i, field, fmt.Sprintf(format, a...)))
		}
		if u.Executable != "" && (strings.ContainsRune(u.Executable, '/') || path.Base(u.Executable) != u.Executable) {
			fail("executable", "%q must be a base name, without a directory", u.Executable)
		}
		if _, ok := formNames[u.Form]; !ok || u.Form == "pair" || u.Form == "token" || u.Form == "user,pass" || u.Form == "cookie" {
			fail("form", "must be one of whole, user:pass, user%%pass, pass:, got %q", u.Form)
		}
		kinds := 0
		for _, set := range []bool{u.Flag != "", u.Position != 0, u.Pattern != ""} {
			if set {
				kinds++
			}
		}
		switch {
		case kinds == 0:
			errs = append(errs, fmt.Errorf("%srules[%d]: one of flag, position or pattern is required", prefix, i))
			continue
		case kinds > 1:
			errs = append(errs, fmt.Errorf("%srules[%d]: flag, position and pattern are exclusive: give one", prefix, i))
			continue
		}
		switch {
		case u.Pattern != "":
			re, err := regexp.Compile(u.Pattern)
			if err != nil {
				fail("pattern", "%v", err)
				continue
			}
			r.patterns = append(r.patterns, pattern{exe: u.Executable, re: re})
		case u.Executable == "":
			fail("executable", "required with flag or position")
		case u.Flag != "":
			if len(u.Flag) < 2 || u.Flag[0] != '-' || strings.ContainsAny(u.Flag, "= ") {
				fail("flag", "%q must start with - and hold no '=' or space", u.Flag)
				continue
			}
			if u.Glued && (len(u.Flag) != 2 || u.Flag[1] == '-') {
				fail("glued", "applies to a short flag (-p), not %q", u.Flag)
				continue
			}
			t := tableRule{Executables: []string{u.Executable}, Sub: u.Subcommand, Flags: []string{u.Flag}, Form: u.Form}
			if u.Glued {
				t.Glued = t.Flags
			}
			add(t)
		default:
			add(tableRule{Executables: []string{u.Executable}, Sub: u.Subcommand, Pos: u.Position, Form: u.Form})
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return r, nil
}

// applyPatterns masks the matches of the user patterns in one argument.
func (r *Redactor) applyPatterns(exe, s string) string {
	for _, p := range r.patterns {
		if p.exe != "" && p.exe != exe {
			continue
		}
		locs := p.re.FindAllStringSubmatchIndex(s, -1)
		if len(locs) == 0 {
			continue
		}
		var b strings.Builder
		last := 0
		for _, l := range locs {
			a, e := l[0], l[1]
			if len(l) >= 4 && l[2] >= 0 {
				a, e = l[2], l[3]
			}
			if a < last || a == e {
				continue
			}
			b.WriteString(s[last:a])
			b.WriteString(Mask)
			last = e
		}
		b.WriteString(s[last:])
		s = b.String()
	}
	return s
}
