package main

import (
	"strings"
	"testing"

	"github.com/muesli/termenv"
)

// checksByName indexes checks; a name may repeat (one per problem).
func checksByName(cs []check) map[string][]check {
	out := map[string][]check{}
	for _, c := range cs {
		out[c.name] = append(out[c.name], c)
	}
	return out
}

func TestConfigChecksPassAWellPlacedConfig(t *testing.T) {
	cs := configChecks("testdata/good.yaml", "127.0.0.1:7070")
	for _, c := range cs {
		if c.status != statusOK {
			t.Errorf("%s: %v %s (%s)", c.name, c.status, c.detail, c.fix)
		}
	}
	by := checksByName(cs)
	if len(by["config incident"]) != 1 || by["config incident"][0].detail != "in logs, metrics" {
		t.Errorf("incident placement: %+v", by["config incident"])
	}
	if len(by["config linnix_insights"]) != 1 {
		t.Errorf("insights placement: %+v", cs)
	}
}

func TestConfigChecksFailAnIncidentProcessorInNoLogsPipeline(t *testing.T) {
	by := checksByName(configChecks("testdata/metrics_only.yaml", "127.0.0.1:7070"))
	got := by["config incident"]
	if len(got) != 1 || got[0].status != statusFail ||
		!strings.Contains(got[0].detail, "is in no logs pipeline (only in metrics)") ||
		!strings.Contains(got[0].fix, "add incident to the processors of the logs pipeline") {
		t.Errorf("metrics-only incident: %+v", got)
	}
	if c := by["config linnix_insights"]; len(c) != 1 || c[0].status != statusOK {
		t.Errorf("insights with the default endpoint: %+v", c)
	}
}

func TestConfigChecksFailAnIncidentProcessorInTwoPipelinesOfASignal(t *testing.T) {
	by := checksByName(configChecks("testdata/two_logs.yaml", "127.0.0.1:7070"))
	got := by["config incident"]
	if len(got) != 1 || got[0].status != statusFail ||
		!strings.Contains(got[0].detail, "is in 2 logs pipelines (logs, logs/archive)") ||
		!strings.Contains(got[0].detail, "counted twice") {
		t.Errorf("incident in two logs pipelines: %+v", got)
	}
	if c := by["config incident/unused"]; len(c) != 1 || c[0].status != statusWarn || !strings.Contains(c[0].detail, "in no pipeline") {
		t.Errorf("unused incident processor: %+v", c)
	}
	c := by["config linnix_insights"]
	if len(c) != 1 || c[0].status != statusWarn ||
		!strings.Contains(c[0].detail, "in no metrics pipeline: top shows no processes") ||
		!strings.Contains(c[0].detail, "serves 127.0.0.1:7171, linnix reads 127.0.0.1:7070") ||
		!strings.Contains(c[0].fix, "--addr 127.0.0.1:7171") {
		t.Errorf("insights only in logs, elsewhere: %+v", c)
	}
}

func TestConfigChecksOnTheShippedExample(t *testing.T) {
	for _, c := range configChecks("../../examples/default.yaml", "127.0.0.1:7070") {
		if c.status == statusFail {
			t.Errorf("examples/default.yaml: %s: %s", c.name, c.detail)
		}
	}
}

func TestConfigChecksFailWhatIsNotAConfig(t *testing.T) {
	for _, path := range []string{"testdata/nonexistent.yaml", "doctor.go"} {
		cs := configChecks(path, "127.0.0.1:7070")
		if len(cs) != 1 || cs[0].status != statusFail {
			t.Errorf("%s: %+v", path, cs)
		}
	}
}

func TestDoctorExitsNonZeroOnAFailAndSaysWhatToDo(t *testing.T) {
	// Nothing listens on port 1: the API check warns, it does not fail.
	code, out, _ := runLinnix(t, "", "--addr", "127.0.0.1:1", "doctor", "--config", "testdata/metrics_only.yaml")
	if code != exitError {
		t.Errorf("exit %d with a failed check:\n%s", code, out)
	}
	for _, want := range []string{"fail  config incident", "→ add incident to the processors", "warn  insights API", "failures\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out)
		}
	}
}

func TestFormatChecksCountsAndIndentsFixes(t *testing.T) {
	got := formatChecks([]check{
		{name: "kernel", status: statusOK, detail: "Linux 6.18"},
		{name: "BTF", status: statusFail, detail: "missing", fix: "use a kernel with BTF"},
	}, stylesWithProfile(termenv.Ascii))
	want := "ok    kernel             Linux 6.18\n" +
		"fail  BTF                missing\n" +
		"                         → use a kernel with BTF\n" +
		"\n2 checks: 1 ok, 0 warnings, 1 failures\n"
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}
