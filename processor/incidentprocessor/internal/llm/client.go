package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Outcome statuses, the values of incident.analysis.status.
const (
	StatusOK       = "ok"
	StatusRejected = "rejected"
	StatusTimeout  = "timeout"
	StatusError    = "error"
	StatusSkipped  = "skipped"
)

// Answer limits, also stated in the schema.
const (
	maxSummary   = 160
	maxRootCause = 400
	maxAction    = 160
	maxActions   = 3
)

// Analysis is an accepted answer.
type Analysis struct {
	Class      string   `json:"class"`
	Confidence float64  `json:"confidence"`
	Summary    string   `json:"summary"`
	RootCause  string   `json:"root_cause"`
	CitedFacts []string `json:"cited_facts"`
	Actions    []string `json:"actions"`
}

// Outcome is what one analysis came to.
type Outcome struct {
	Status   string
	Reason   string // why it is not ok: a short, bounded label
	Analysis *Analysis
	Latency  time.Duration
	Model    string
	// Token usage as the server reported it (0 when it did not).
	InputTokens, OutputTokens int64
}

// Options configure a Client.
type Options struct {
	// Endpoint is the OpenAI-compatible base URL, e.g. http://127.0.0.1:8080/v1.
	Endpoint    string
	Model       string
	APIKey      string
	MaxTokens   int
	Temperature float64
	// Retry on transient errors (connection failures, 5xx, 429) with
	// exponential backoff from RetryInitial to RetryMax, within the
	// request's deadline.
	RetryEnabled bool
	RetryInitial time.Duration
	RetryMax     time.Duration
	// After BreakerFailures consecutive failures the client stops asking
	// for BreakerOpenFor (outcomes are skipped, reason circuit_open).
	BreakerFailures int
	BreakerOpenFor  time.Duration
}

// Client talks to one endpoint; it is safe for concurrent use.
type Client struct {
	http *http.Client
	opts Options
	url  string

	mu        sync.Mutex
	failures  int
	openUntil time.Time
	now       func() time.Time
}

// New returns a client using hc (built from the collector's confighttp
// settings: TLS, headers, per-attempt timeout).
func New(hc *http.Client, opts Options) *Client {
	return &Client{
		http: hc,
		opts: opts,
		url:  strings.TrimSuffix(opts.Endpoint, "/") + "/chat/completions",
		now:  time.Now,
	}
}

// errTransient marks failures worth retrying.
type errTransient struct {
	err        error
	retryAfter time.Duration
	timeout    bool // the attempt ran out of its own time (the client's timeout)
}

func (e *errTransient) Error() string { return e.err.Error() }

// errRejected marks an answer that arrived but is not acceptable.
type errRejected struct{ reason string }

func (e *errRejected) Error() string { return "answer rejected: " + e.reason }

// Analyze asks for an analysis of the facts before ctx's deadline.
func (c *Client) Analyze(ctx context.Context, facts []Fact) Outcome {
	start := c.now()
	out := Outcome{Model: c.opts.Model}
	if c.open() {
		out.Status, out.Reason = StatusSkipped, "circuit_open"
		return out
	}
	body, err := c.requestBody(facts)
	if err != nil {
		out.Status, out.Reason = StatusError, "request"
		return out
	}
	backoff := c.opts.RetryInitial
	for attempt := 1; ; attempt++ {
		var a *Analysis
		a, out.InputTokens, out.OutputTokens, err = c.once(ctx, body, facts)
		out.Latency = c.now().Sub(start)
		if err == nil {
			out.Status, out.Analysis = StatusOK, a
			c.record(true)
			return out
		}
		var rej *errRejected
		if errors.As(err, &rej) {
			out.Status, out.Reason = StatusRejected, rej.reason
			c.record(true) // the endpoint works; the model answered badly
			return out
		}
		var tr *errTransient
		retry := errors.As(err, &tr) && c.opts.RetryEnabled && ctx.Err() == nil
		if retry {
			wait := time.Duration(float64(min(backoff, c.opts.RetryMax)) * (0.8 + 0.4*rand.Float64()))
			if tr.retryAfter > 0 {
				// Never sooner than the server asked.
				wait = time.Duration(float64(tr.retryAfter) * (1 + 0.1*rand.Float64()))
			}
			if dl, ok := ctx.Deadline(); !ok || c.now().Add(wait).Before(dl) {
				select {
				case <-time.After(wait):
					backoff *= 2
					continue
				case <-ctx.Done():
				}
			}
		}
		out.Latency = c.now().Sub(start)
		switch {
		case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
			// The caller's deadline: the incident's max_wait.
			out.Status, out.Reason = StatusTimeout, "max_wait"
		case tr != nil && tr.timeout:
			out.Status, out.Reason = StatusTimeout, "request_timeout"
		default:
			out.Status, out.Reason = StatusError, reason(err)
		}
		c.record(false)
		return out
	}
}

func reason(err error) string {
	var tr *errTransient
	if errors.As(err, &tr) {
		err = tr.err
	}
	var he *httpError
	if errors.As(err, &he) {
		return "http_" + strconv.Itoa(he.code)
	}
	return "connection"
}

type httpError struct{ code int }

func (e *httpError) Error() string { return "HTTP " + strconv.Itoa(e.code) }

func (c *Client) open() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now().Before(c.openUntil)
}

func (c *Client) record(ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ok {
		c.failures = 0
		return
	}
	c.failures++
	if c.opts.BreakerFailures > 0 && c.failures >= c.opts.BreakerFailures {
		c.openUntil = c.now().Add(c.opts.BreakerOpenFor)
		c.failures = 0
	}
}

func (c *Client) requestBody(facts []Fact) ([]byte, error) {
	system, user := Messages(facts)
	req := map[string]any{
		"model": c.opts.Model,
		"messages": []map[string]string{
			{"role": "system", "content": system},
			{"role": "user", "content": user},
		},
		"temperature": c.opts.Temperature,
		"response_format": map[string]any{
			"type": "json_schema",
			"json_schema": map[string]any{
				"name":   "incident_analysis",
				"strict": true,
				"schema": Schema(facts),
			},
		},
	}
	if c.opts.MaxTokens > 0 {
		req["max_tokens"] = c.opts.MaxTokens
	}
	return json.Marshal(req)
}

type chatResponse struct {
	Choices []struct {
		Message struct {
			Content string `json:"content"`
		} `json:"message"`
	} `json:"choices"`
	Usage struct {
		PromptTokens     int64 `json:"prompt_tokens"`
		CompletionTokens int64 `json:"completion_tokens"`
	} `json:"usage"`
}

// maxResponse bounds what is read from the server.
const maxResponse = 1 << 20

func (c *Client) once(ctx context.Context, body []byte, facts []Fact) (*Analysis, int64, int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.opts.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.opts.APIKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, 0, ctx.Err()
		}
		var ne net.Error
		return nil, 0, 0, &errTransient{err: err, timeout: errors.As(err, &ne) && ne.Timeout()}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, 0, ctx.Err()
		}
		return nil, 0, 0, &errTransient{err: err}
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return nil, 0, 0, &errTransient{err: &httpError{resp.StatusCode}, retryAfter: retryAfter(resp.Header.Get("Retry-After"), c.now())}
	case resp.StatusCode >= 500:
		return nil, 0, 0, &errTransient{err: &httpError{resp.StatusCode}}
	case resp.StatusCode != http.StatusOK:
		return nil, 0, 0, &httpError{resp.StatusCode}
	}
	var cr chatResponse
	if err := json.Unmarshal(data, &cr); err != nil {
		return nil, 0, 0, &errRejected{"not_json"}
	}
	in, out := cr.Usage.PromptTokens, cr.Usage.CompletionTokens
	if len(cr.Choices) == 0 || strings.TrimSpace(cr.Choices[0].Message.Content) == "" {
		return nil, in, out, &errRejected{"empty"}
	}
	a, err := parseAnswer(cr.Choices[0].Message.Content, facts)
	if err != nil {
		return nil, in, out, err
	}
	return a, in, out, nil
}

// retryAfter reads seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now))
	}
	return 0
}

// parseAnswer decodes and checks an answer against the schema and the facts.
func parseAnswer(content string, facts []Fact) (*Analysis, error) {
	dec := json.NewDecoder(strings.NewReader(content))
	dec.DisallowUnknownFields()
	var a Analysis
	if err := dec.Decode(&a); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, &errRejected{"not_json"}
		}
		return nil, &errRejected{"schema"}
	}
	var raw map[string]json.RawMessage
	if json.Unmarshal([]byte(content), &raw) != nil {
		return nil, &errRejected{"not_json"}
	}
	for _, k := range []string{"class", "confidence", "summary", "root_cause", "cited_facts", "actions"} {
		if _, ok := raw[k]; !ok {
			return nil, &errRejected{"schema"}
		}
	}
	known := map[string]bool{}
	for _, f := range facts {
		known[f.ID] = true
	}
	valid := false
	for _, c := range Classes {
		valid = valid || a.Class == c
	}
	switch {
	case !valid,
		a.Confidence < 0 || a.Confidence > 1,
		utf8.RuneCountInString(a.Summary) > maxSummary || strings.TrimSpace(a.Summary) == "",
		utf8.RuneCountInString(a.RootCause) > maxRootCause,
		len(a.Actions) > maxActions,
		len(a.CitedFacts) == 0:
		return nil, &errRejected{"schema"}
	}
	for _, act := range a.Actions {
		if utf8.RuneCountInString(act) > maxAction {
			return nil, &errRejected{"schema"}
		}
	}
	for _, id := range a.CitedFacts {
		if !known[id] {
			return nil, &errRejected{"unknown_fact"}
		}
	}
	return &a, nil
}

// String is for logs.
func (o Outcome) String() string {
	if o.Reason != "" {
		return fmt.Sprintf("%s (%s) after %v", o.Status, o.Reason, o.Latency.Round(time.Millisecond))
	}
	return fmt.Sprintf("%s after %v", o.Status, o.Latency.Round(time.Millisecond))
}
