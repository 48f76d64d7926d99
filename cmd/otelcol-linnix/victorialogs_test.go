//go:build linux

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/linnix-os/otelcol-linnix/internal/kerneltest"
	"github.com/linnix-os/otelcol-linnix/internal/testserver"
)

// examples/loki.yaml, unchanged but for ports and paths, sends its records
// over OTLP/HTTP to VictoriaLogs, which stands in for Loki (Loki cannot be
// run here): every record of the test's children arrives with its
// attributes, a fork storm's incident too, and the streams are the
// resource's service.* labels, never a process.

const lokiExample = "../../examples/loki.yaml"

func TestLokiExampleDeliversRecordsToVictoriaLogs(t *testing.T) {
	requireRoot(t)
	kerneltest.Require(t)
	bin := buildCollector(t)
	vl := testserver.VictoriaLogs(t)
	kerneltest.Exclusive(t) // the fork storm

	// The shipped config's variables: Loki's OTLP base, here VictoriaLogs'
	// (the exporter appends /v1/logs), and a namespace of this test's own.
	namespace := fmt.Sprintf("linnix-e2e-%d", time.Now().UnixNano())
	t.Setenv("LOKI_ENDPOINT", vl.URL+"/insert/opentelemetry")
	t.Setenv("LINNIX_NAMESPACE", namespace)
	health := freePort(t)
	startCollector(t, bin, health, "--config", lokiExample,
		"--config", "yaml:exporters::file::path: "+t.TempDir()+"/events.jsonl",
		"--config", fmt.Sprintf("yaml:extensions::health_check::endpoint: 127.0.0.1:%d", health),
		"--config", fmt.Sprintf("yaml:exporters::prometheus::endpoint: 127.0.0.1:%d", freePort(t)),
		"--config", fmt.Sprintf("yaml:exporters::linnix_insights::endpoint: 127.0.0.1:%d", freePort(t)),
		"--config", telemetryOn(freePort(t)),
		// The storm below is bounded, and a loaded CI machine forks slowly:
		// 10 forks/s over 5 s, not the built-in 1000/s, fire fork_storm.
		"--config", "yaml:processors::incident::evaluation_interval: 200ms",
		"--config", "yaml:processors::incident::rules: [{name: fork_storm, min_rate: 10}]",
	)
	inNamespace := fmt.Sprintf(`_stream:{service.namespace=%q}`, namespace)

	// Known children: distinct argv, distinct exit codes.
	marker := fmt.Sprintf("linnix-vl-%d", time.Now().UnixNano())
	shell, err := filepath.EvalSymlinks("/bin/sh") // the exe link names the target
	if err != nil {
		t.Fatal(err)
	}
	children := map[int]int{} // pid -> exit code
	for code := 3; code <= 5; code++ {
		c := exec.Command("/bin/sh", "-c", "exit "+strconv.Itoa(code), marker)
		_ = c.Run()
		children[c.Process.Pid] = code
	}

	for pid, code := range children {
		var execRec, exitRec map[string]string
		waitFor(t, 30*time.Second, fmt.Sprintf("exec and exit records of pid %d in VictoriaLogs", pid), func() bool {
			execRec, exitRec = nil, nil
			for _, r := range logsQuery(t, vl.URL, fmt.Sprintf(`%s "process.pid":=%d`, inNamespace, pid)) {
				switch r["event_name"] {
				case "linnix.process.exec":
					execRec = r
				case "linnix.process.exit":
					exitRec = r
				}
			}
			return execRec != nil && exitRec != nil
		})
		if execRec["process.executable.name"] != filepath.Base(shell) || execRec["process.executable.path"] != shell {
			t.Errorf("exec record executable = %q %q", execRec["process.executable.name"], execRec["process.executable.path"])
		}
		var args []string
		if err := json.Unmarshal([]byte(execRec["process.command_args"]), &args); err != nil ||
			len(args) != 4 || args[2] != "exit "+strconv.Itoa(code) || args[3] != marker {
			t.Errorf("exec record command args = %q (%v)", execRec["process.command_args"], err)
		}
		if exitRec["process.exit.code"] != strconv.Itoa(code) {
			t.Errorf("exit record code = %q, want %d", exitRec["process.exit.code"], code)
		}
		// Loki's index labels: the resource's service.*; the process is
		// on the record, so it is not part of the stream.
		for _, r := range []map[string]string{execRec, exitRec} {
			stream := r["_stream"]
			if !strings.Contains(stream, `service.name="otelcol-linnix"`) || !strings.Contains(stream, fmt.Sprintf(`service.namespace=%q`, namespace)) {
				t.Errorf("stream %s lacks service.name or service.namespace", stream)
			}
			if processField.MatchString(stream) {
				t.Errorf("stream %s carries a process attribute", stream)
			}
		}
	}
	t.Logf("the exec and exit records of %d children are in VictoriaLogs", len(children))

	forked := forkStorm(t)
	var incident map[string]string
	waitFor(t, 30*time.Second, "a firing fork_storm in VictoriaLogs", func() bool {
		for _, r := range logsQuery(t, vl.URL, inNamespace+` "incident.rule":=fork_storm "incident.state":=firing`) {
			incident = r
			return true
		}
		return false
	})
	for _, k := range []string{"incident.id", "incident.started", "incident.confidence", "incident.actions", "incident.evidence.count"} {
		if incident[k] == "" {
			t.Errorf("fork_storm record lacks %s: %v", k, incident)
		}
	}
	if incident["incident.severity"] != "critical" || incident["incident.kind"] != "rate" || incident["event_name"] != "linnix.incident" {
		t.Errorf("fork_storm record: %v", incident)
	}
	if n, _ := strconv.Atoi(incident["incident.evidence.count"]); n <= 0 || incident["incident.evidence.window_seconds"] != "5" {
		t.Errorf("fork_storm evidence: count %q in %q s", incident["incident.evidence.count"], incident["incident.evidence.window_seconds"])
	}
	t.Logf("storm: %d forks in 5s; in VictoriaLogs: %s (stream %s)", forked, incident["_msg"], incident["_stream"])
}

// processField finds a process.* field among a stream's fields, e.g.
// {host.name="vm",process.pid="42"}.
var processField = regexp.MustCompile(`[{,]process\.`)

// forkStorm forks as fast as the machine lets it for 5 s, each child
// exiting at once, and returns how many it forked; at least 75, 1.5 times
// the 50 the test's fork_storm needs.
func forkStorm(t *testing.T) int {
	t.Helper()
	_, n := kerneltest.ForkStorm(t, 5*time.Second, 50)
	if n < 75 {
		t.Fatalf("the storm forked %d times in 5s: the test needs 75", n)
	}
	return n
}

// logsQuery flushes VictoriaLogs' buffers and runs a LogsQL query; each
// result is one record's fields.
func logsQuery(t *testing.T, base, query string) []map[string]string {
	t.Helper()
	httpGet(base + "/internal/force_flush")
	body := httpGet(base + "/select/logsql/query?query=" + url.QueryEscape(query))
	var out []map[string]string
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var r map[string]string
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("query %s: %v: %s", query, err, sc.Text())
		}
		out = append(out, r)
	}
	return out
}
