package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/linnix-os/otelcol-linnix/internal/insightsapi"
)

// apiClient is the shared insights API client with errors that tell the
// person at the terminal what to do: which address, which config key,
// which flag.
type apiClient struct {
	c    *insightsapi.Client
	addr string
}

// newAPIClient accepts host:port (plain HTTP), an http(s):// URL or
// unix:///path.
func newAPIClient(addr, token string) *apiClient {
	return &apiClient{c: insightsapi.NewClient(addr, token, nil), addr: addr}
}

// base is the API's address as a URL, for messages.
func (a *apiClient) base() string {
	if strings.Contains(a.addr, "://") {
		return strings.TrimRight(a.addr, "/")
	}
	return "http://" + a.addr
}

// unreachableError says which address did not answer and how to make the
// collector serve the API there.
type unreachableError struct {
	base string
	err  error
}

func (e *unreachableError) Error() string {
	return fmt.Sprintf("cannot reach the linnix insights API at %s: %v\n"+
		"The collector serves it when its config has the linnix_insights exporter in its pipelines, with\n"+
		"  %s: %s\n"+
		"(examples/default.yaml enables it). Is the collector running? Point linnix at another address with --addr or LINNIX_ADDR.",
		e.base, e.err, insightsapi.ConfigHint, insightsapi.DefaultEndpoint)
}

func (e *unreachableError) Unwrap() error { return e.err }

// authError is a 401: the API wants a token, or another one.
type authError struct{ base string }

func (e *authError) Error() string {
	return fmt.Sprintf("the linnix insights API at %s refused the token (401 Unauthorized): pass the auth_token of the collector's linnix_insights exporter with --token or LINNIX_TOKEN", e.base)
}

// explain rewrites the client's errors for the terminal.
func (a *apiClient) explain(err error) error {
	var ue *insightsapi.UnreachableError
	var nf *insightsapi.NotFoundError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ue):
		return &unreachableError{base: a.base(), err: ue.Err}
	case errors.Is(err, insightsapi.ErrUnauthorized):
		return &authError{base: a.base()}
	case errors.As(err, &nf):
		return fmt.Errorf("no incident with id %q: `linnix incidents` lists the open and recently resolved ones", nf.ID)
	}
	return err
}

func (a *apiClient) Incidents(ctx context.Context) (insightsapi.IncidentList, error) {
	l, err := a.c.Incidents(ctx)
	if err != nil {
		return insightsapi.IncidentList{}, a.explain(err)
	}
	return *l, nil
}

func (a *apiClient) Incident(ctx context.Context, id string) (insightsapi.Incident, error) {
	inc, err := a.c.Incident(ctx, id)
	if err != nil {
		return insightsapi.Incident{}, a.explain(err)
	}
	return *inc, nil
}

func (a *apiClient) Processes(ctx context.Context, sort string, limit int) (insightsapi.ProcessList, error) {
	l, err := a.c.Processes(ctx, sort, limit)
	if err != nil {
		return insightsapi.ProcessList{}, a.explain(err)
	}
	return *l, nil
}

func (a *apiClient) Stats(ctx context.Context) (insightsapi.Stats, error) {
	s, err := a.c.Stats(ctx)
	if err != nil {
		return insightsapi.Stats{}, a.explain(err)
	}
	return *s, nil
}

// eventFilter is what `linnix tail` asks of the event stream.
type eventFilter struct {
	insightsapi.EventFilter
	Replay int
}

// Events follows the event stream, calling fn for each message, until ctx
// ends (nil), the server closes the stream or fn fails.
func (a *apiClient) Events(ctx context.Context, f eventFilter, fn func(insightsapi.StreamItem) error) error {
	// Ending early (fn failed) stops the client's reader too.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	items, err := a.c.Events(ctx, f.EventFilter, f.Replay)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return a.explain(err)
	}
	for it := range items {
		if it.Err != nil {
			return fmt.Errorf("%s: %w", a.base(), it.Err)
		}
		if err := fn(it); err != nil {
			return err
		}
	}
	return nil
}
