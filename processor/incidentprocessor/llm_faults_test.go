package incidentprocessor

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/linnix-os/otelcol-linnix/internal/pdatautil"
)

// The fault tests put a local server in front of the processor that fails
// the way real endpoints do. Only the faults are hand-written; the real
// inference engine is exercised in llm_engine_test.go.

const testMaxWait = 2 * time.Second

func llmConfig(endpoint string) *Config {
	cfg := spinConfig()
	lc := defaultLLMConfig()
	lc.Endpoint = endpoint
	lc.Model = "linnix-test"
	lc.Timeout = 10 * time.Second // per attempt; max_wait bounds the whole
	lc.MaxWait = testMaxWait
	lc.Retry.InitialInterval = 100 * time.Millisecond
	lc.Retry.MaxInterval = 400 * time.Millisecond
	cfg.LLM = configoptional.Some(lc)
	return cfg
}

// chatReply answers in the OpenAI shape with content, and usage.
func chatReply(w http.ResponseWriter, content string) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"id": "x", "object": "chat.completion",
		"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
			"message": map[string]any{"role": "assistant", "content": content}}},
		"usage": map[string]any{"prompt_tokens": 321, "completion_tokens": 45, "total_tokens": 366},
	})
}

// firstFactID reads the fact ids the request allows citing.
func firstFactID(t *testing.T, r *http.Request) string {
	var req struct {
		ResponseFormat struct {
			JSONSchema struct {
				Schema struct {
					Properties struct {
						CitedFacts struct {
							Items struct {
								Enum []string `json:"enum"`
							} `json:"items"`
						} `json:"cited_facts"`
					} `json:"properties"`
				} `json:"schema"`
			} `json:"json_schema"`
		} `json:"response_format"`
	}
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &req); err != nil || len(req.ResponseFormat.JSONSchema.Schema.Properties.CitedFacts.Items.Enum) == 0 {
		t.Errorf("request without a json_schema response_format: %s", body)
		return "f1"
	}
	return req.ResponseFormat.JSONSchema.Schema.Properties.CitedFacts.Items.Enum[0]
}

func validContent(fact string) string {
	b, _ := json.Marshal(map[string]any{
		"class": "cpu_spin", "confidence": 0.9, "summary": "java is spinning on one core",
		"root_cause": "a busy loop in java", "cited_facts": []string{fact}, "actions": []string{"profile it"},
	})
	return string(b)
}

// fire drives cpu_spin for pid 4412 to firing and returns when it was decided.
func fire(t *testing.T, ps *pipelines) time.Time {
	t.Helper()
	ctx := context.Background()
	t0 := time.Now()
	for _, s := range []int{0, 10} {
		ts := t0.Add(time.Duration(s) * time.Second)
		ps.p.now = func() time.Time { return ts }
		require.NoError(t, ps.mp.ConsumeMetrics(ctx, cores(4412, ts, 0.97)))
	}
	began := time.Now()
	ps.p.evaluate(ctx)
	return began
}

func TestLLMFaultsDeliverEveryIncidentOnce(t *testing.T) {
	cases := []struct {
		name, status, reason string
		handler              func(t *testing.T, calls *atomic.Int32) http.HandlerFunc
		// noRetry: with retries the failure's own status races max_wait
		// on a busy machine; the 429 case covers retrying.
		noRetry bool
	}{
		{name: "connection refused", status: "error", reason: "connection", noRetry: true},
		{name: "30s stall", status: "timeout", reason: "max_wait", handler: func(*testing.T, *atomic.Int32) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				// Reading the body lets the server notice the client hang up.
				_, _ = io.Copy(io.Discard, r.Body)
				select {
				case <-r.Context().Done():
				case <-time.After(30 * time.Second):
				}
			}
		}},
		{name: "HTTP 500", status: "error", reason: "http_500", noRetry: true, handler: func(*testing.T, *atomic.Int32) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) }
		}},
		{name: "HTTP 429 with Retry-After, then an answer", status: "ok", handler: func(t *testing.T, calls *atomic.Int32) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				if calls.Load() == 1 {
					w.Header().Set("Retry-After", "1")
					http.Error(w, "slow down", http.StatusTooManyRequests)
					return
				}
				chatReply(w, validContent(firstFactID(t, r)))
			}
		}},
		{name: "non-JSON body", status: "rejected", reason: "not_json", handler: func(*testing.T, *atomic.Int32) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "<html>upstream error</html>") }
		}},
		{name: "invented fact ids", status: "rejected", reason: "unknown_fact", handler: func(*testing.T, *atomic.Int32) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { chatReply(w, validContent("f999")) }
		}},
		{name: "schema violation", status: "rejected", reason: "schema", handler: func(*testing.T, *atomic.Int32) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				chatReply(w, `{"class":"disk_full","confidence":2,"summary":"","root_cause":"","cited_facts":["f1"],"actions":[]}`)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			endpoint := closedEndpoint(t)
			if tc.handler != nil {
				h := tc.handler(t, &calls)
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					calls.Add(1)
					h(w, r)
				}))
				t.Cleanup(srv.Close)
				endpoint = srv.URL + "/v1"
			}
			cfg := llmConfig(endpoint)
			if tc.noRetry {
				lc := cfg.LLM.Get()
				lc.Retry.Enabled = false
			}
			ps := startPipelines(t, cfg)
			fired := fire(t, ps)

			// The pipeline's other records are not held up by the analysis.
			other := plog.NewLogs()
			other.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("unrelated")
			require.NoError(t, ps.lp.ConsumeLogs(context.Background(), other))
			// ConsumeLogs returned: the record is downstream already (the
			// incident may be too, when the answer was rejected at once).
			unrelated := 0
			for _, ld := range ps.logs.AllLogs() {
				pdatautil.LogRecords(ld, func(_ plog.ResourceLogs, _ plog.ScopeLogs, lr plog.LogRecord) {
					if lr.Body().Str() == "unrelated" {
						unrelated++
					}
				})
			}
			require.Equal(t, 1, unrelated, "passthrough delivered at once")

			require.Eventually(t, func() bool { return len(incidentRecords(ps.logs)) > 0 },
				testMaxWait+time.Second, 10*time.Millisecond, "incident within max_wait + 1s")
			delivered := time.Since(fired)
			time.Sleep(300 * time.Millisecond) // a late answer must not emit it again
			recs := incidentRecords(ps.logs)
			require.Len(t, recs, 1, "exactly once")
			a := recs[0].Attributes().AsRaw()
			assert.Equal(t, tc.status, a["incident.analysis.status"], "status (after %v): %v", delivered, a)
			if tc.reason != "" {
				assert.Equal(t, tc.reason, a["incident.analysis.reason"])
			}
			assert.Equal(t, "java pid 4412 sustained 97% CPU for 10s", recs[0].Body().Str(), "the rule-based analysis always stays")
			if tc.status == "ok" {
				assert.Equal(t, "cpu_spin", a["incident.analysis.class"])
				assert.Equal(t, "linnix-test", a["gen_ai.request.model"])
				assert.Equal(t, int64(321), a["gen_ai.usage.input_tokens"])
				assert.Equal(t, int64(45), a["gen_ai.usage.output_tokens"])
				assert.Equal(t, int32(2), calls.Load(), "one retry after the 429")
			}
		})
	}
}

func TestAnalysisIsReusedByRepeatAndResolve(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		time.Sleep(300 * time.Millisecond) // still pending when the resolve comes
		chatReply(w, validContent(firstFactID(t, r)))
	}))
	t.Cleanup(srv.Close)
	ps := startPipelines(t, llmConfig(srv.URL+"/v1"))
	fire(t, ps)

	// It clears while its analysis is pending: the resolve waits behind it.
	ts := time.Now().Add(15 * time.Second)
	ps.p.now = func() time.Time { return ts }
	require.NoError(t, ps.mp.ConsumeMetrics(context.Background(), cores(4412, ts, 0.1)))
	ps.p.evaluate(context.Background())

	require.Eventually(t, func() bool { return len(incidentRecords(ps.logs)) == 2 }, testMaxWait+time.Second, 10*time.Millisecond)
	recs := incidentRecords(ps.logs)
	first, second := recs[0].Attributes().AsRaw(), recs[1].Attributes().AsRaw()
	assert.Equal(t, "firing", first["incident.state"], "firing first")
	assert.Equal(t, "resolved", second["incident.state"])
	assert.Equal(t, first["incident.id"], second["incident.id"])
	assert.Equal(t, "ok", second["incident.analysis.status"])
	assert.Equal(t, first["incident.analysis.summary"], second["incident.analysis.summary"])
	assert.Equal(t, int32(1), calls.Load(), "analysed once")
}

// closedEndpoint is a loopback URL where nothing listens.
func closedEndpoint(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "http://" + addr + "/v1"
}
