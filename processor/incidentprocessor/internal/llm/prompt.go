// Package llm asks an OpenAI-compatible chat endpoint (llama.cpp's
// llama-server, Ollama, vLLM, OpenAI) to analyse an incident from numbered,
// measured facts, and accepts only answers that fit the schema and cite
// facts that exist.
package llm

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/linnix-os/otelcol-linnix/internal/redact"
)

// Classes an analysis may choose.
var Classes = []string{"fork_storm", "cpu_spin", "cpu_limit_saturated", "memory_leak", "oom_risk", "oom_kill", "runaway_tree", "crash_loop", "short_job_flood", "io_saturation", "normal"}

// Input is everything the prompt may state; nothing else reaches the model.
type Input struct {
	Rule, Kind, Severity, Summary string
	Subject                       []KV // process and container attributes
	Evidence                      map[string]any
	TopCPU, TopMemory             []Process
	Lifecycle                     []Lifecycle // recent records of the subject and its parent
	HostMemoryTotal               float64
	HostMemoryAvailable           float64
	// Redactor masks the command lines; nil means the built-in rules only
	// (redact.Args). The processor passes one with the llm section's
	// redaction rules.
	Redactor *redact.Redactor
}

// KV is one named value.
type KV struct{ Key, Value string }

// Process is one line of a top list.
type Process struct {
	PID   int64
	Exe   string
	Cores float64
	RSS   float64
}

// Lifecycle is one recent fork, exec or exit.
type Lifecycle struct {
	At       time.Time
	Event    string
	PID      int64
	PPID     int64
	Exe      string
	Args     []string
	ExitCode *int64
}

// Fact is one numbered statement of the prompt.
type Fact struct{ ID, Text string }

// Limits that keep a prompt small whatever the input.
const (
	maxFacts     = 48
	maxArgsChars = 200
)

// Facts numbers the input's statements f1…fn. Command lines are redacted
// again here, by in.Redactor, whatever the receiver's command_args setting.
func Facts(in Input) []Fact {
	red := in.Redactor
	if red == nil {
		red = redact.Default()
	}
	var texts []string
	texts = append(texts, fmt.Sprintf("rule %s (kind %s, severity %s) fired: %s", in.Rule, in.Kind, in.Severity, in.Summary))
	keys := make([]string, 0, len(in.Evidence))
	for k := range in.Evidence {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		texts = append(texts, fmt.Sprintf("measured %s = %s", k, format(in.Evidence[k])))
	}
	for _, kv := range in.Subject {
		texts = append(texts, fmt.Sprintf("subject %s = %s", kv.Key, kv.Value))
	}
	if in.HostMemoryTotal > 0 {
		texts = append(texts, fmt.Sprintf("host memory: %.0f MiB available of %.0f MiB (%.0f%%)",
			in.HostMemoryAvailable/(1<<20), in.HostMemoryTotal/(1<<20), in.HostMemoryAvailable/in.HostMemoryTotal*100))
	}
	for i, p := range in.TopCPU {
		texts = append(texts, fmt.Sprintf("top CPU #%d: %s pid %d using %.2f cores", i+1, p.Exe, p.PID, p.Cores))
	}
	for i, p := range in.TopMemory {
		texts = append(texts, fmt.Sprintf("top memory #%d: %s pid %d resident %.0f MiB", i+1, p.Exe, p.PID, p.RSS/(1<<20)))
	}
	for _, l := range in.Lifecycle {
		t := fmt.Sprintf("%s %s pid %d ppid %d exe %s", l.At.UTC().Format(time.RFC3339), l.Event, l.PID, l.PPID, l.Exe)
		if len(l.Args) > 0 {
			args := strings.Join(red.Args(l.Args), " ")
			if len(args) > maxArgsChars {
				args = args[:maxArgsChars] + "…"
			}
			t += " args: " + args
		}
		if l.ExitCode != nil {
			t += " exit code " + strconv.FormatInt(*l.ExitCode, 10)
		}
		texts = append(texts, t)
	}
	if len(texts) > maxFacts {
		texts = texts[:maxFacts]
	}
	facts := make([]Fact, len(texts))
	for i, t := range texts {
		facts[i] = Fact{ID: "f" + strconv.Itoa(i+1), Text: t}
	}
	return facts
}

func format(v any) string {
	switch x := v.(type) {
	case float64:
		return strconv.FormatFloat(x, 'g', 6, 64)
	default:
		return fmt.Sprint(x)
	}
}

var systemPrompt = `You are an SRE assistant analysing an incident on a Linux host.
Use only the numbered facts you are given; do not assume anything else.
Answer with JSON only, matching the schema:
- class: the kind of problem, one of ` + strings.Join(Classes, ", ") + `;
- confidence: 0 to 1;
- summary: one sentence, at most 160 characters;
- root_cause: the most likely cause, from the facts;
- cited_facts: the ids (like "f2") of the facts your answer rests on;
- actions: at most 3 concrete next steps.`

// Messages builds the system and user messages for facts.
func Messages(facts []Fact) (system, user string) {
	var b strings.Builder
	b.WriteString("Facts:\n")
	for _, f := range facts {
		b.WriteString(f.ID)
		b.WriteString(": ")
		b.WriteString(f.Text)
		b.WriteByte('\n')
	}
	b.WriteString("\nClassify this incident and explain it, citing fact ids.")
	return systemPrompt, b.String()
}

// Schema is the JSON schema of an answer; cited fact ids are restricted to
// the ones given, so a constrained decoder cannot invent one.
func Schema(facts []Fact) map[string]any {
	ids := make([]any, len(facts))
	for i, f := range facts {
		ids[i] = f.ID
	}
	classes := make([]any, len(Classes))
	for i, c := range Classes {
		classes[i] = c
	}
	return map[string]any{
		"type":                 "object",
		"additionalProperties": false,
		"required":             []any{"class", "confidence", "summary", "root_cause", "cited_facts", "actions"},
		"properties": map[string]any{
			"class":       map[string]any{"type": "string", "enum": classes},
			"confidence":  map[string]any{"type": "number", "minimum": 0, "maximum": 1},
			"summary":     map[string]any{"type": "string", "maxLength": maxSummary},
			"root_cause":  map[string]any{"type": "string", "maxLength": maxRootCause},
			"cited_facts": map[string]any{"type": "array", "items": map[string]any{"type": "string", "enum": ids}, "minItems": 1, "maxItems": 8},
			"actions":     map[string]any{"type": "array", "items": map[string]any{"type": "string", "maxLength": maxAction}, "maxItems": maxActions},
		},
	}
}
