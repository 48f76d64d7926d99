package incidentprocessor

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/linnix-os/otelcol-linnix/internal/redact"
)

// execWithArgs is a lifecycle record of pid 4412 with argv in full.
func execWithArgs(args ...string) plog.Logs {
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName("linnix.process.exec")
	lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	a := lr.Attributes()
	a.PutInt("process.pid", 4412)
	a.PutInt("process.parent_pid", 1)
	a.PutStr("process.executable.name", args[0])
	s := a.PutEmptySlice("process.command_args")
	for _, v := range args {
		s.AppendEmpty().SetStr(v)
	}
	return ld
}

// TestPromptAppliesUserRedactionRules: llm::redaction rules mask, in the
// prompt, a secret the built-in rules do not know, and the built-in rules
// stay in force.
func TestPromptAppliesUserRedactionRules(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(body))
		mu.Unlock()
		chatReply(w, validContent("f1"))
	}))
	t.Cleanup(srv.Close)

	cfg := llmConfig(srv.URL + "/v1")
	cfg.LLM.Get().Redaction = redact.Config{Rules: []redact.Rule{
		{Pattern: `acme_([A-Za-z0-9]+)`},
		{Executable: "java", Flag: "--license"},
	}}
	require.NoError(t, cfg.LLM.Get().Validate())
	ps := startPipelines(t, cfg)
	require.NoError(t, ps.lp.ConsumeLogs(context.Background(), execWithArgs(
		"java", "-Dvendor.code=acme_Zx81customX", "--license", "LIC-4471-ABCD", "--password=hunter2", "-jar", "app.jar")))
	fire(t, ps)

	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(bodies) == 1
	}, testMaxWait+time.Second, 10*time.Millisecond)
	mu.Lock()
	body := bodies[0]
	mu.Unlock()
	assert.Contains(t, body, "args: java -Dvendor.code=acme_*** --license *** --password=*** -jar app.jar")
	for _, secret := range []string{"Zx81customX", "LIC-4471-ABCD", "hunter2"} {
		assert.NotContains(t, body, secret)
	}
}
