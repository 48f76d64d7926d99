package llm

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func sampleInput() Input {
	code := int64(0)
	return Input{
		Rule: "cpu_spin", Kind: "threshold", Severity: "warning", Summary: "java pid 4412 sustained 97% CPU for 3m",
		Subject:  []KV{{"process.pid", "4412"}, {"process.executable.name", "java"}},
		Evidence: map[string]any{"linnix.process.cpu.cores": 0.97, "threshold": 0.95},
		TopCPU:   []Process{{PID: 4412, Exe: "java", Cores: 0.97}},
		Lifecycle: []Lifecycle{
			{At: time.Unix(0, 0), Event: "exec", PID: 4412, PPID: 1, Exe: "java", Args: []string{"java", "--password=hunter2", "DB_TOKEN=s3cr3t", "-jar", "app.jar"}},
			{At: time.Unix(1, 0), Event: "exit", PID: 4413, PPID: 4412, Exe: "sh", ExitCode: &code},
		},
		HostMemoryTotal: 16 << 30, HostMemoryAvailable: 8 << 30,
	}
}

func TestFactsAreNumberedGroundedAndRedacted(t *testing.T) {
	facts := Facts(sampleInput())
	var all strings.Builder
	for i, f := range facts {
		if f.ID != "f"+itoa(i+1) {
			t.Errorf("fact %d has id %s", i, f.ID)
		}
		all.WriteString(f.Text + "\n")
	}
	text := all.String()
	for _, want := range []string{"rule cpu_spin", "measured linnix.process.cpu.cores = 0.97", "subject process.pid = 4412",
		"host memory: 8192 MiB available of 16384 MiB", "top CPU #1: java pid 4412 using 0.97 cores",
		"exec pid 4412 ppid 1 exe java args: java --password=*** DB_TOKEN=*** -jar app.jar", "exit code 0"} {
		if !strings.Contains(text, want) {
			t.Errorf("facts lack %q:\n%s", want, text)
		}
	}
	for _, secret := range []string{"hunter2", "s3cr3t"} {
		if strings.Contains(text, secret) {
			t.Errorf("secret %q in facts", secret)
		}
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func answer(t *testing.T, a map[string]any) string {
	t.Helper()
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseAnswer(t *testing.T) {
	facts := Facts(sampleInput())
	good := map[string]any{"class": "cpu_spin", "confidence": 0.8, "summary": "java spins", "root_cause": "a loop",
		"cited_facts": []string{"f1", "f2"}, "actions": []string{"profile it"}}
	if a, err := parseAnswer(answer(t, good), facts); err != nil || a.Class != "cpu_spin" {
		t.Fatalf("good answer rejected: %v", err)
	}
	cases := map[string]func(m map[string]any){
		"unknown_fact": func(m map[string]any) { m["cited_facts"] = []string{"f1", "f999"} },
		"schema":       func(m map[string]any) { m["class"] = "disk_full" },
	}
	for reason, mutate := range cases {
		m := map[string]any{}
		for k, v := range good {
			m[k] = v
		}
		mutate(m)
		_, err := parseAnswer(answer(t, m), facts)
		if rej, ok := err.(*errRejected); !ok || rej.reason != reason {
			t.Errorf("%s: got %v", reason, err)
		}
	}
	for name, bad := range map[string]string{
		"confidence above 1": `{"class":"cpu_spin","confidence":1.5,"summary":"x","root_cause":"y","cited_facts":["f1"],"actions":[]}`,
		"long summary":       `{"class":"cpu_spin","confidence":0.5,"summary":"` + strings.Repeat("x", 161) + `","root_cause":"y","cited_facts":["f1"],"actions":[]}`,
		"four actions":       `{"class":"cpu_spin","confidence":0.5,"summary":"x","root_cause":"y","cited_facts":["f1"],"actions":["a","b","c","d"]}`,
		"missing field":      `{"class":"cpu_spin","confidence":0.5,"summary":"x","cited_facts":["f1"],"actions":[]}`,
		"extra field":        `{"class":"cpu_spin","confidence":0.5,"summary":"x","root_cause":"y","cited_facts":["f1"],"actions":[],"x":1}`,
		"no citation":        `{"class":"cpu_spin","confidence":0.5,"summary":"x","root_cause":"y","cited_facts":[],"actions":[]}`,
		"wrong type":         `{"class":"cpu_spin","confidence":"high","summary":"x","root_cause":"y","cited_facts":["f1"],"actions":[]}`,
	} {
		if _, err := parseAnswer(bad, facts); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := parseAnswer("I think it is a CPU spin", facts); err == nil || err.(*errRejected).reason != "not_json" {
		t.Errorf("prose: got %v", err)
	}
}

func TestSchemaRestrictsCitationsToGivenFacts(t *testing.T) {
	facts := []Fact{{"f1", "a"}, {"f2", "b"}}
	s := Schema(facts)
	items := s["properties"].(map[string]any)["cited_facts"].(map[string]any)["items"].(map[string]any)
	if got := items["enum"].([]any); len(got) != 2 || got[0] != "f1" || got[1] != "f2" {
		t.Errorf("cited_facts enum = %v", got)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if d := retryAfter("2", now); d != 2*time.Second {
		t.Errorf("seconds: %v", d)
	}
	if d := retryAfter(now.Add(3*time.Second).Format("Mon, 02 Jan 2006 15:04:05 GMT"), now); d != 3*time.Second {
		t.Errorf("date: %v", d)
	}
	if d := retryAfter("soon", now); d != 0 {
		t.Errorf("garbage: %v", d)
	}
}
