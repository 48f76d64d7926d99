package insightsapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The client against a stand-in server: how each failure reads, and the
// SSE parsing. The linnix_insights exporter's tests run this client
// against the real server.

func TestUnreachableAPINamesTheAddressAndTheConfigKey(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = NewClient(addr, "", nil).Stats(context.Background())
	var ue *UnreachableError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "exporters: linnix_insights: endpoint") {
		t.Errorf("err = %v", err)
	}
}

func TestStatusesBecomeTypedErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Header.Get(HeaderAuthorization) != "Bearer t":
			w.WriteHeader(http.StatusUnauthorized)
		case r.URL.Path == PathIncident+"a b":
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error":"no incident"}`)
		case r.URL.Path == PathProcesses:
			if r.URL.RawQuery != "limit=5&sort=memory" {
				t.Errorf("query %q", r.URL.RawQuery)
			}
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"query parameter sort: want cpu or memory"}`)
		default:
			fmt.Fprint(w, `{"incidents":[{"id":"x","rule":"cpu_spin","severity":"warning","state":"firing"}]}`)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	if _, err := NewClient(srv.URL, "wrong", nil).Incidents(ctx); !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "token") {
		t.Errorf("wrong token: %v", err)
	}
	c := NewClient(srv.URL, "t", nil)
	var nf *NotFoundError
	if _, err := c.Incident(ctx, "a b"); !errors.As(err, &nf) || nf.ID != "a b" || !strings.Contains(err.Error(), `"a b"`) {
		t.Errorf("unknown id: %v", err)
	}
	var se *StatusError
	if _, err := c.Processes(ctx, SortMemory, 5); !errors.As(err, &se) || se.Code != 400 || !strings.Contains(se.Message, "query parameter sort") {
		t.Errorf("bad request: %v", err)
	}
	list, err := c.Incidents(ctx)
	if err != nil || len(list.Incidents) != 1 || list.Incidents[0].Rule != "cpu_spin" {
		t.Errorf("incidents: %+v %v", list, err)
	}
}

func TestEventsParsesRecordsDroppedAndSkipsTheRest(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if q := r.URL.Query(); q.Get(QueryType) != "exec,exit" || q.Get(QueryPID) != "42" || q.Get(QueryContainer) != "3f2a" ||
			q.Get(QueryExecutable) != "nginx" || q.Get(QuerySeverity) != "warning" || q.Get(QueryReplay) != "10" {
			t.Errorf("query %v", q)
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, ": hello\n\n")
		fmt.Fprint(w, "event: record\nid: 1\ndata: {\"seq\":1,\"type\":\"exec\",\"pid\":42}\n\n")
		fmt.Fprint(w, ": heartbeat\n\nevent: future\ndata: {}\n\n")
		fmt.Fprint(w, "event: dropped\ndata: {\"missed\":3,\"total\":3}\n\n")
		fmt.Fprint(w, "event: record\ndata: {\"seq\":5,\ndata: \"type\":\"exit\"}\n\n")
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ch, err := NewClient(srv.URL, "", nil).Events(ctx, EventFilter{Types: []EventType{EventExec, EventExit}, PID: 42,
		Container: "3f2a", Executable: "nginx", Severity: "warning"}, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for it := range ch {
		switch {
		case it.Event != nil:
			got = append(got, fmt.Sprintf("%s/%d", it.Event.Type, it.Event.Seq))
		case it.Dropped != nil:
			got = append(got, fmt.Sprintf("dropped %d/%d", it.Dropped.Missed, it.Dropped.Total))
		case it.Err != nil:
			got = append(got, "end: "+it.Err.Error())
		}
	}
	want := "exec/1 | dropped 3/3 | exit/5 | end: the linnix insights API closed the event stream (collector shutting down?)"
	if strings.Join(got, " | ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, " | "), want)
	}
}
