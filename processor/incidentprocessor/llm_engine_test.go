package incidentprocessor

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/llm"
)

// The engine test talks to a real local inference engine: llama.cpp (npm
// node-llama-cpp) behind a small OpenAI-compatible server, loading a tiny
// random-weight GGUF model generated here. It checks structure and
// plumbing, not meaning. `make deps` installs the server's packages.

const engineDir = "internal/llm/testdata/server"

// startEngine generates the model, starts the server on a free loopback
// port and returns its base URL.
func startEngine(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		requireInCI(t, "node is not installed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(engineDir, "node_modules", "node-llama-cpp")); err != nil {
		requireInCI(t, "the engine's packages are not installed (make deps runs npm ci in %s): %v", engineDir, err)
	}
	model := filepath.Join(t.TempDir(), "linnix-tiny.gguf")
	out, err := exec.Command("node", filepath.Join(engineDir, "make-model.mjs"), model).CombinedOutput()
	require.NoError(t, err, "make-model: %s", out)

	cmd := exec.Command("node", "server.mjs", "--model", model, "--port", "0", "--threads", "1")
	cmd.Dir = engineDir
	var stderr syncBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				ready <- strings.Fields(rest)[0]
			}
		}
		close(ready)
	}()
	select {
	case base, ok := <-ready:
		if !ok {
			t.Fatalf("engine exited before listening: %s", stderr.String())
		}
		return base
	case <-time.After(60 * time.Second):
		t.Fatalf("engine did not start within 60s: %s", stderr.String())
	}
	return ""
}

func requireInCI(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// syncBuffer collects a child's output while the test may read it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// recorder is a reverse proxy that keeps every request body.
type recorder struct {
	mu     sync.Mutex
	bodies []string
	proxy  *httputil.ReverseProxy
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.bodies = append(r.bodies, string(body))
	r.mu.Unlock()
	req.Body = io.NopCloser(bytes.NewReader(body))
	r.proxy.ServeHTTP(w, req)
}

// execWithSecret is a lifecycle record whose argv carries a secret in full,
// as a receiver with command_args: full would send it.
func execWithSecret(pid int64) plog.Logs {
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName("linnix.process.exec")
	lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	a := lr.Attributes()
	a.PutInt("process.pid", pid)
	a.PutInt("process.parent_pid", 1)
	a.PutStr("process.executable.name", "java")
	args := a.PutEmptySlice("process.command_args")
	for _, s := range []string{"java", "--password=hunter2", "-Ddb.url=postgres://app:hunter2@db/x", "API_TOKEN=hunter2", "-jar", "app.jar"} {
		args.AppendEmpty().SetStr(s)
	}
	return ld
}

func TestRealEngineAnalysesAnIncident(t *testing.T) {
	base := startEngine(t)
	target, err := url.Parse(base)
	require.NoError(t, err)
	rec := &recorder{proxy: httputil.NewSingleHostReverseProxy(target)}
	proxy := httptest.NewServer(rec)
	t.Cleanup(proxy.Close)

	cfg := llmConfig(proxy.URL + "/v1")
	lc := cfg.LLM.Get()
	lc.Timeout, lc.MaxWait, lc.MaxTokens = 60*time.Second, 60*time.Second, 2048
	ps := startPipelines(t, cfg)
	require.NoError(t, ps.lp.ConsumeLogs(context.Background(), execWithSecret(4412)))
	fire(t, ps)

	require.Eventually(t, func() bool { return len(incidentRecords(ps.logs)) == 1 }, 61*time.Second, 50*time.Millisecond)
	a := incidentRecords(ps.logs)[0].Attributes().AsRaw()
	require.Equal(t, "ok", a["incident.analysis.status"], "reason %v", a["incident.analysis.reason"])
	assert.Contains(t, llm.Classes, a["incident.analysis.class"])
	conf := a["incident.analysis.confidence"].(float64)
	assert.True(t, conf >= 0 && conf <= 1, "confidence %v", conf)
	assert.LessOrEqual(t, len([]rune(a["incident.analysis.summary"].(string))), 160)
	cited := a["incident.analysis.cited_facts"].([]any)
	assert.NotEmpty(t, cited)
	for _, id := range cited {
		assert.Regexp(t, `^f[0-9]+$`, id)
	}
	assert.LessOrEqual(t, len(a["incident.analysis.actions"].([]any)), 3)
	assert.Greater(t, a["gen_ai.usage.input_tokens"], int64(0))
	assert.Greater(t, a["gen_ai.usage.output_tokens"], int64(0))
	assert.Equal(t, "linnix-test", a["gen_ai.request.model"])
	assert.Greater(t, a["incident.analysis.latency"], 0.0)

	// The secret never left the host, though the command line did.
	rec.mu.Lock()
	bodies := slices.Clone(rec.bodies)
	rec.mu.Unlock()
	require.Len(t, bodies, 1)
	assert.NotContains(t, bodies[0], "hunter2")
	assert.Contains(t, bodies[0], "--password=***")
	assert.Contains(t, bodies[0], "API_TOKEN=***")
	assert.Contains(t, bodies[0], `"json_schema"`)
}
