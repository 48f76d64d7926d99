package insightsapi

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// ConfigHint is where the API is turned on, for errors that say how.
const ConfigHint = "exporters: linnix_insights: endpoint"

// Client reads the API of one linnix_insights exporter.
type Client struct {
	addr  string // as given, for errors
	base  string // scheme://host, without a trailing slash
	token string
	http  *http.Client
}

// NewClient returns a client of the API at addr: host:port (plain HTTP,
// or HTTPS when tlsConfig is not nil), http://host:port, https://host:port
// or unix:///path/to/socket. token is sent as a bearer token when not
// empty.
func NewClient(addr, token string, tlsConfig *tls.Config) *Client {
	c := &Client{addr: addr, token: token}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsConfig
	switch {
	case strings.HasPrefix(addr, "unix://"):
		path := strings.TrimPrefix(addr, "unix://")
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}
		c.base = "http://unix"
	case strings.HasPrefix(addr, "http://"), strings.HasPrefix(addr, "https://"):
		c.base = strings.TrimRight(addr, "/")
	case tlsConfig != nil:
		c.base = "https://" + addr
	default:
		c.base = "http://" + addr
	}
	c.http = &http.Client{Transport: tr}
	return c
}

// UnreachableError: nothing answered at the address.
type UnreachableError struct {
	Addr string
	Err  error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the linnix insights API at %s: %v; is otelcol-linnix running with the linnix_insights exporter in a pipeline? (enable it with `%s` in the collector's config)",
		e.Addr, e.Err, ConfigHint)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// ErrUnauthorized: the API has an auth_token and the client's token is
// missing or different.
var ErrUnauthorized = errors.New("the linnix insights API refused the token (401): it is missing or wrong; pass the exporter's auth_token")

// NotFoundError: no incident with this id.
type NotFoundError struct{ ID string }

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("no incident %q: it never fired on this collector, or it resolved longer ago than the exporter keeps resolved incidents", e.ID)
}

// StatusError is any other non-2xx answer, with the server's message.
type StatusError struct {
	Code    int
	Message string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("linnix insights API: %d %s: %s", e.Code, http.StatusText(e.Code), e.Message)
}

// Incidents lists the open incidents and the recently resolved ones.
func (c *Client) Incidents(ctx context.Context) (*IncidentList, error) {
	var out IncidentList
	return &out, c.get(ctx, PathIncidents, nil, &out)
}

// Incident is one incident; an unknown id gives a *NotFoundError.
func (c *Client) Incident(ctx context.Context, id string) (*Incident, error) {
	var out Incident
	err := c.get(ctx, PathIncident+url.PathEscape(id), nil, &out)
	var se *StatusError
	if errors.As(err, &se) && se.Code == http.StatusNotFound {
		return nil, &NotFoundError{ID: id}
	}
	return &out, err
}

// Processes lists the heaviest processes by sort (SortCPU or SortMemory;
// empty: cpu), at most limit (0: the server's default, 20).
func (c *Client) Processes(ctx context.Context, sort string, limit int) (*ProcessList, error) {
	q := url.Values{}
	if sort != "" {
		q.Set(QuerySort, sort)
	}
	if limit > 0 {
		q.Set(QueryLimit, strconv.Itoa(limit))
	}
	var out ProcessList
	return &out, c.get(ctx, PathProcesses, q, &out)
}

// Stats reports counts, rates, losses and the collector's own usage.
func (c *Client) Stats(ctx context.Context) (*Stats, error) {
	var out Stats
	return &out, c.get(ctx, PathStats, nil, &out)
}

// EventFilter chooses the records of an event stream; the zero value
// takes every record.
type EventFilter struct {
	Types      []EventType // any of these; empty: all
	Executable string      // exact process.executable.name
	PID        int64       // process.pid
	Container  string      // container.id or a prefix of it
	Severity   string      // only incidents at or above info|warning|critical
}

func (f EventFilter) query(replay int) url.Values {
	q := url.Values{}
	if len(f.Types) > 0 {
		ts := make([]string, len(f.Types))
		for i, t := range f.Types {
			ts[i] = string(t)
		}
		q.Set(QueryType, strings.Join(ts, ","))
	}
	if f.Executable != "" {
		q.Set(QueryExecutable, f.Executable)
	}
	if f.PID != 0 {
		q.Set(QueryPID, strconv.FormatInt(f.PID, 10))
	}
	if f.Container != "" {
		q.Set(QueryContainer, f.Container)
	}
	if f.Severity != "" {
		q.Set(QuerySeverity, f.Severity)
	}
	if replay > 0 {
		q.Set(QueryReplay, strconv.Itoa(replay))
	}
	return q
}

// StreamItem is one message of the event stream: an Event, a Dropped
// notice (this client fell behind and missed records), or, last before
// the channel closes, the Err that ended the stream (nil when ctx ended
// it).
type StreamItem struct {
	Event   *Event
	Dropped *Dropped
	Err     error
}

// Events opens the event stream with filter, asking for up to replay
// retained records first. Connection and authorization errors are
// returned at once; then messages arrive on the channel until ctx ends or
// the server goes away. Read the channel promptly: the server drops
// records for a client that falls behind, and says so with a Dropped.
func (c *Client) Events(ctx context.Context, filter EventFilter, replay int) (<-chan StreamItem, error) {
	resp, err := c.do(ctx, PathEvents, filter.query(replay))
	if err != nil {
		return nil, err
	}
	out := make(chan StreamItem, 64)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		err := readSSE(resp.Body, func(event string, data []byte) error {
			var it StreamItem
			switch event {
			case SSERecord:
				it.Event = &Event{}
				if err := json.Unmarshal(data, it.Event); err != nil {
					return fmt.Errorf("bad record on the event stream: %w", err)
				}
			case SSEDropped:
				it.Dropped = &Dropped{}
				if err := json.Unmarshal(data, it.Dropped); err != nil {
					return fmt.Errorf("bad dropped message on the event stream: %w", err)
				}
			default:
				return nil // a newer server's message this client does not know
			}
			select {
			case out <- it:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errors.New("the linnix insights API closed the event stream (collector shutting down?)")
		}
		select {
		case out <- StreamItem{Err: err}:
		case <-ctx.Done():
		}
	}()
	return out, nil
}

// readSSE calls fn for every message of a Server-Sent Events stream;
// comment lines (heartbeats) are skipped. It returns fn's error, the
// read error, or nil at the end of the stream.
func readSSE(r io.Reader, fn func(event string, data []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	event, data := "", []byte(nil)
	for sc.Scan() {
		line := sc.Bytes()
		switch {
		case len(line) == 0:
			if data != nil {
				if event == "" {
					event = "message"
				}
				if err := fn(event, data); err != nil {
					return err
				}
			}
			event, data = "", nil
		case line[0] == ':':
		default:
			field, value, _ := strings.Cut(string(line), ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "event":
				event = value
			case "data":
				if data != nil {
					data = append(data, '\n')
				}
				data = append(data, value...)
			}
		}
	}
	return sc.Err()
}

func (c *Client) get(ctx context.Context, path string, q url.Values, out any) error {
	resp, err := c.do(ctx, path, q)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("linnix insights API at %s: bad answer to %s: %w", c.addr, path, err)
	}
	return nil
}

// do sends a GET and turns every failure into one of the errors above.
func (c *Client) do(ctx context.Context, path string, q url.Values) (*http.Response, error) {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("linnix insights API address %q: %w", c.addr, err)
	}
	if c.token != "" {
		req.Header.Set(HeaderAuthorization, "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &UnreachableError{Addr: c.addr, Err: err}
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		return nil, ErrUnauthorized
	}
	var e Error
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(body, &e) != nil || e.Error == "" {
		e.Error = strings.TrimSpace(string(body))
	}
	return nil, &StatusError{Code: resp.StatusCode, Message: e.Error}
}
