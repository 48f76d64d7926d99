package pipeline

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver"
)

// whereExamples are the where expressions the processor README documents,
// each described by the probe processes below: the test runs each as a
// rule over real records and requires an incident naming the probe.
var whereExamples = []struct {
	where  string
	metric bool // a metric rule (else a rule on exit records)
	probe  string
}{
	{`attributes["process.executable.name"] == "sleep"`, false, "ok"},
	{`attributes["process.exit.code"] != 0`, false, "fail"},
	{`attributes["process.user.id"] == 0`, false, "ok"},
	{`IsMatch(attributes["process.executable.path"], "^/usr/bin/")`, false, "ok"},
	{`resource.attributes["host.name"] != "build-1"`, false, "ok"},
	{`resource.attributes["process.executable.name"] == "sleep"`, true, "ok"},
	{`resource.attributes["process.executable.name"] != "stress"`, true, "ok"},
	{`attributes["cpu.mode"] == "user"`, true, "ok"},
	{`resource.attributes["process.owner"] == "root"`, true, "ok"},
	{`resource.attributes["container.id"] == nil`, true, "ok"},
}

// TestDocumentedWhereExamplesMatchRealRecords keeps the README's where
// examples honest: each one, as a rule, fires on a real process it
// describes.
func TestDocumentedWhereExamplesMatchRealRecords(t *testing.T) {
	readme, err := os.ReadFile("../../processor/incidentprocessor/README.md")
	require.NoError(t, err)
	documented := regexp.MustCompile("(?m)^\\| `([^`]+)` \\|").FindAllStringSubmatch(string(readme), -1)
	var inREADME []string
	for _, m := range documented {
		if strings.Contains(m[1], "attributes[") {
			inREADME = append(inREADME, m[1])
		}
	}
	var tested []string
	for _, ex := range whereExamples {
		tested = append(tested, ex.where)
	}
	require.ElementsMatch(t, tested, inREADME, "the README's where examples and the ones tested here")

	var b strings.Builder
	b.WriteString("evaluation_interval: 200ms\ndefault_rules: false\nrules:\n")
	for i, ex := range whereExamples {
		if ex.metric {
			fmt.Fprintf(&b, "  - {name: ex%d, kind: threshold, metric: process.cpu.time, op: \">=\", value: 0, summary: x, where: '%s'}\n", i, ex.where)
		} else {
			fmt.Fprintf(&b, "  - {name: ex%d, kind: rate, event: exit, window: 1m, min_count: 1, group_by: process, summary: x, where: '%s'}\n", i, ex.where)
		}
	}
	s := startChain(t, processorConfig(t, b.String()), func(c *ebpfprocessreceiver.Config) { c.TopN = 0 })

	// ok: a sleep that lives through a few collections and exits 0;
	// fail: a sleep that exits 1 at once (an invalid interval).
	okCmd := exec.Command("/usr/bin/sleep", "3")
	require.NoError(t, okCmd.Start())
	failCmd := exec.Command("/usr/bin/sleep", "not-a-number")
	_ = failCmd.Run()
	require.NoError(t, okCmd.Wait())
	pids := map[string]int64{"ok": int64(okCmd.Process.Pid), "fail": int64(failCmd.Process.Pid)}

	for i, ex := range whereExamples {
		rule := fmt.Sprintf("ex%d", i)
		assert.Eventually(t, func() bool {
			for _, m := range s.of(rule) {
				if m[contract.ProcessPID] == pids[ex.probe] {
					return true
				}
			}
			return false
		}, 15*time.Second, 100*time.Millisecond, "%s should fire on the %s probe", ex.where, ex.probe)
	}
}
