package rules

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultsAreValid(t *testing.T) {
	rs, err := Set(true, "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]Kind{}
	for _, r := range rs {
		names[r.Name] = r.Kind
	}
	for name, kind := range map[string]Kind{
		"cpu_spin": KindThreshold, "fork_storm": KindRate, "runaway_tree": KindTree, "crash_loop": KindCrashLoop,
		"short_job_flood": KindShortLived, "memory_leak": KindTrend, "oom_risk": KindRatio,
		"oom_kill": KindOOM, "cpu_limit_saturated": KindThreshold,
	} {
		if names[name] != kind {
			t.Errorf("default rule %s: kind %q, want %q", name, names[name], kind)
		}
	}
}

func TestLaterLayersReplaceByName(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(file, []byte(`
rules:
  - name: cpu_spin
    kind: threshold
    metric: linnix.process.cpu.cores
    value: 0.5
    for: 1m
    summary: "{{.Exe}}"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	inline := []Rule{{Name: "fork_storm", Kind: KindRate, Event: "fork", Window: time.Second, MinCount: 10, Summary: "x"}}
	rs, err := Set(true, file, inline, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		switch r.Name {
		case "cpu_spin":
			if r.Value != 0.5 || r.For != time.Minute {
				t.Errorf("file did not replace cpu_spin: %+v", r)
			}
		case "fork_storm":
			if r.MinCount != 10 {
				t.Errorf("inline did not replace fork_storm: %+v", r)
			}
		}
	}
	if len(rs) != len(Defaults()) {
		t.Errorf("replacing rules changed the count: %d", len(rs))
	}
}

func TestBadRulesNameRuleAndField(t *testing.T) {
	cases := map[string]string{
		`rules: [{name: a, kind: thresh, summary: x}]`:                                                          `rule "a": kind: unknown kind "thresh"`,
		`rules: [{name: b, summary: x}]`:                                                                        `rule "b": kind: missing`,
		`rules: [{name: c, kind: threshold, summary: x}]`:                                                       `rule "c": metric: missing`,
		`rules: [{name: d, kind: rate, event: fork, min_count: 5, summary: x}]`:                                 `rule "d": window: missing`,
		`rules: [{name: e, kind: rate, event: clone, window: 5s, min_count: 5, summary: x}]`:                    `rule "e": event: must be fork, exec or exit`,
		`rules: [{name: f, kind: threshold, metric: m, op: "==", summary: x}]`:                                  `rule "f": op: must be one of`,
		`rules: [{name: g, kind: threshold, metric: m, severity: high, summary: x}]`:                            `rule "g": severity: must be info, warning or critical`,
		`rules: [{name: h, kind: threshold, metric: m, summary: "{{.Nope}}"}]`:                                  `rule "h": summary: `,
		`rules: [{name: i, kind: threshold, metric: m, summary: x, group_by: pod}]`:                             `rule "i": group_by: must be`,
		`rules: [{name: j, kind: trend, metric: m, window: 5s, min_slope_per_minute: 1, summary: x}]`:           `rule "j": window: a trend needs a window of at least 10s`,
		`rules: [{name: k, kind: ratio, metric: m, of: disk, summary: x}]`:                                      `rule "k": of: must be cgroup_memory_limit or host_memory`,
		`rules: [{name: l, kind: tree, window: 30s, summary: x}]`:                                               `rule "l": min_live: must be positive`,
		`rules: [{name: m, kind: crash_loop, min_count: 5, summary: x}]`:                                        `rule "m": window: missing`,
		`rules: [{name: n, kind: short_lived, window: 5s, min_count: 5, min_sustain: 2, summary: x}]`:           `rule "n": min_sustain: must be between 0 and 1`,
		`rules: [{name: o, kind: crash_loop, window: 1m, min_count: 5, min_restart_interval: -1s, summary: x}]`: `rule "o": min_restart_interval: must not be negative`,
		`rules: [{name: l, kind: threshold, metric: m, summary: x, for: -1s}]`:                                  `rule "l": for: must not be negative`,
		`rules: [{name: p, kind: rate, event: fork, window: 5s, min_rate: 10, fire_window: 10s, summary: x}]`:   `rule "p": fire_window: must not be longer than window`,
		`rules: [{name: q, kind: rate, event: fork, window: 5s, min_count: 10, fire_window: 1s, summary: x}]`:   `rule "q": fire_window: needs min_rate`,
		`rules: [{name: r, kind: rate, event: fork, window: 5s, min_rate: 10, min_sustain: 1.5, summary: x}]`:   `rule "r": min_sustain: must be between 0 and 1`,
		`rules: [{name: s, kind: oom, summary: x}]`:                                                             `rule "s": window: missing`,
		`rules: [{kind: threshold, metric: m, summary: x}]`:                                                     `every rule needs name`,
		`rules: [{name: m, kind: threshold, metric: m}]`:                                                        `rule "m": summary: missing`,
	}
	for yml, want := range cases {
		rs, err := Parse([]byte(yml))
		if err != nil {
			t.Errorf("%s: parse: %v", yml, err)
			continue
		}
		err = rs[0].Validate(nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s:\n got %v\nwant %q", yml, err, want)
		}
	}
}

// A rate rule with min_rate gets a 1 s fire window (its window, when
// shorter) and a min_sustain of one half unless it sets them; a partial
// override of fork_storm keeps the built-in's.
func TestRateFireWindowDefaultsAndOverrides(t *testing.T) {
	rs, err := Parse([]byte(`rules:
  - {name: a, kind: rate, event: fork, window: 5s, min_rate: 10, summary: x}
  - {name: b, kind: rate, event: fork, window: 500ms, min_rate: 10, summary: x}
  - {name: c, kind: rate, event: fork, window: 5s, min_count: 10, summary: x}
  - {name: d, kind: rate, event: fork, window: 5s, min_rate: 10, fire_window: 2s, min_sustain: 0, summary: x}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		fire    time.Duration
		sustain float64
	}{{time.Second, 0.5}, {500 * time.Millisecond, 0.5}, {0, 0.5}, {2 * time.Second, 0}}
	for i := range rs {
		if err := rs[i].Validate(nil); err != nil {
			t.Fatal(err)
		}
		if rs[i].FireWindow != want[i].fire || rs[i].MinSustain != want[i].sustain {
			t.Errorf("rule %s: fire_window %v, min_sustain %v; want %v, %v", rs[i].Name, rs[i].FireWindow, rs[i].MinSustain, want[i].fire, want[i].sustain)
		}
	}

	inline, err := Parse([]byte(`rules: [{name: fork_storm, min_rate: 2000}]`))
	if err != nil {
		t.Fatal(err)
	}
	set, err := Set(true, "", inline, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range set {
		if r.Name == "fork_storm" && (r.MinRate != 2000 || r.FireWindow != time.Second || r.MinSustain != 0.5 || r.Window != 5*time.Second) {
			t.Errorf("fork_storm overridden: min_rate %v, fire_window %v, min_sustain %v, window %v", r.MinRate, r.FireWindow, r.MinSustain, r.Window)
		}
	}
}

func TestParseRejectsUnknownFieldsAndBadDurations(t *testing.T) {
	for yml, want := range map[string]string{
		`rules: [{name: a, kind: threshold, metric: m, summary: x, threshold: 3}]`: "threshold",
		`rules: [{name: a, kind: rate, window: soon}]`:                             "window",
		`rules: {name: a}`:                  "rules",
		"rules: [\n  - name: a\n   kind: x": "not YAML",
	} {
		_, err := Parse([]byte(yml))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want mention of %q", yml, err, want)
		}
	}
}

func TestWhereCheckErrorNamesTheRule(t *testing.T) {
	rs, _ := Parse([]byte(`rules: [{name: w, kind: threshold, metric: m, summary: x, where: "bad("}]`))
	err := rs[0].Validate(func(*Rule) error { return errors.New("unexpected token") })
	if err == nil || !strings.Contains(err.Error(), `rule "w": where: unexpected token`) {
		t.Errorf("got %v", err)
	}
}

func TestTemplateFuncs(t *testing.T) {
	r := Rule{Name: "t", Kind: KindTrend, Metric: "m", Window: 10 * time.Minute, MinSlopePerMinute: 1,
		Summary: "{{bytes .Growth}} {{bytes .Slope}} {{pct .Value}} {{dur .ETA}} {{dur .Window}} {{num .Rate}} {{num .Count}}"}
	if err := r.Validate(nil); err != nil {
		t.Fatal(err)
	}
	got, _, err := r.Render(Facts{Growth: 2 << 30, Slope: 205 << 20, Value: 0.974, ETA: 14*time.Minute + 20*time.Second, Window: 10 * time.Minute, Rate: 1500.4, Count: 7502})
	if err != nil {
		t.Fatal(err)
	}
	if want := "2.0 GiB 205 MiB 97% 14m 10m 1500 7502"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func FuzzParseRules(f *testing.F) {
	f.Add(defaultsYAML)
	f.Add([]byte(`rules: [{name: a, kind: rate, event: fork, window: 5s, min_rate: 1000, summary: "{{.Count}}"}]`))
	f.Add([]byte(`rules: [{name: a, kind: trend, metric: m, window: 10m, summary: "{{bytes .Growth}}", actions: ["{{"]}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := Parse(data)
		if err != nil {
			return
		}
		for i := range rs {
			if rs[i].Validate(nil) == nil {
				// A valid rule renders without panicking.
				_, _, _ = rs[i].Render(Facts{})
			}
		}
	})
}

func TestRuleWithoutKindOverridesTheFieldsItSets(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(file, []byte("rules: [{name: cpu_spin, for: 10s}, {name: memory_leak, severity: critical}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A rule built in Go has no record of its keys: its non-zero fields
	// override.
	rs, err := Set(true, file, []Rule{{Name: "cpu_spin", Value: 0.5}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var spin, leak *Rule
	for _, r := range rs {
		switch r.Name {
		case "cpu_spin":
			spin = r
		case "memory_leak":
			leak = r
		}
	}
	if spin.For != 10*time.Second || spin.Value != 0.5 || spin.Metric != "process.cpu.time" || !spin.PerSecond || spin.Kind != KindThreshold {
		t.Errorf("cpu_spin not overridden field by field: %+v", spin)
	}
	if leak.Severity != SeverityCritical || leak.MinR2 != 0.8 {
		t.Errorf("memory_leak not overridden field by field: %+v", leak)
	}
	for _, d := range Defaults() {
		if d.Name == "cpu_spin" && d.For != 3*time.Minute {
			t.Errorf("the built-in changed: %v", d.For)
		}
	}

	_, err = Set(true, "", []Rule{{Name: "nope", For: time.Second}}, nil)
	if err == nil || !strings.Contains(err.Error(), `rule "nope": kind: missing`) {
		t.Errorf("an unknown name without kind: got %v", err)
	}
}

func TestPerSecondIsForMetricKindsOnly(t *testing.T) {
	rs, _ := Parse([]byte(`rules: [{name: p, kind: rate, event: fork, window: 5s, min_count: 5, per_second: true, summary: x}]`))
	err := rs[0].Validate(nil)
	if err == nil || !strings.Contains(err.Error(), `rule "p": per_second: applies to threshold, trend and ratio rules only`) {
		t.Errorf("got %v", err)
	}
}

func TestDecodeErrorsNameTheRuleAndField(t *testing.T) {
	for yml, want := range map[string]string{
		`rules: [{name: cpu_spin, for: 3x}]`:           `rule "cpu_spin": for: time: unknown unit "x" in duration "3x"`,
		`rules: [{name: a, value: high}]`:              `rule "a": value: `,
		`rules: [{name: a, per_second: maybe}]`:        `rule "a": per_second: `,
		`rules: [{name: a, actions: 3}]`:               `rule "a": actions: `,
		`rules: [{name: a}, {kind: rate, window: 1z}]`: `'rules[1]' rule without a name: window: time: unknown unit "z"`,
		`rules: [{name: a, window: 60}]`:               `rule "a": window: a duration needs a unit, e.g. "30s" or "5m", got 60`,
	} {
		_, err := Parse([]byte(yml))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s:\n got %v\nwant %q", yml, err, want)
		}
	}
}
