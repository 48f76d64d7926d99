package alert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// Reasons a delivery fails (the reason attribute of
// otelcol_linnix_exporter_alerts_failed).
const (
	FailRejected    = "rejected"     // 4xx other than 408 and 429: permanent, never retried
	FailThrottled   = "throttled"    // 429: retried after Retry-After
	FailServerError = "server_error" // 5xx and 408: retried with backoff
	FailTimeout     = "timeout"      // no answer in time: retried
	FailConnection  = "connection"   // refused, reset, DNS: retried
	FailEncode      = "encode"       // the payload could not be built: permanent
)

// Error is a failed delivery with its reason.
type Error struct {
	Reason string
	Err    error
	// RetryAfter is what a 429 asked for (0 if nothing).
	RetryAfter time.Duration
}

// RetryAfterOf is the Retry-After of a throttled delivery, or 0.
func RetryAfterOf(err error) time.Duration {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.RetryAfter
	}
	return 0
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Reason is the failure reason of err (FailConnection when unknown).
func Reason(err error) string {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Reason
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return FailTimeout
	}
	return FailConnection
}

// Permanent wraps err as a permanent failure with a reason.
func Permanent(reason string, err error) error {
	return consumererror.NewPermanent(&Error{Reason: reason, Err: err})
}

// Post sends body to url and classifies the outcome: nil on 2xx, a
// permanent error on a 4xx other than 408/429, a throttle error honouring
// Retry-After on 429, a retryable error otherwise.
func Post(ctx context.Context, client *http.Client, url, contentType string, body []byte, header http.Header) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Permanent(FailEncode, err)
	}
	req.Header.Set("Content-Type", contentType)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		return &Error{Reason: netReason(err), Err: err}
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return Classify(resp.StatusCode, resp.Header, strings.TrimSpace(string(snippet)))
}

// Classify maps an HTTP answer to nil or a classified error.
func Classify(status int, h http.Header, body string) error {
	if status >= 200 && status < 300 {
		return nil
	}
	err := fmt.Errorf("HTTP %d: %s", status, body)
	switch {
	case status == http.StatusTooManyRequests:
		e := &Error{Reason: FailThrottled, Err: err, RetryAfter: RetryAfter(h, time.Now())}
		if d := e.RetryAfter; d > 0 {
			return exporterhelper.NewThrottleRetry(e, d)
		}
		return e
	case status == http.StatusRequestTimeout || status >= 500:
		return &Error{Reason: FailServerError, Err: err}
	default:
		return Permanent(FailRejected, err)
	}
}

// RetryAfter parses a Retry-After header (seconds or an HTTP date).
func RetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func netReason(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return FailTimeout
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return FailTimeout
	}
	return FailConnection
}
