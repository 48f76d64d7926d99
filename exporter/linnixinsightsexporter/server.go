package linnixinsightsexporter

import (
	"bufio"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/linnix-os/otelcol-linnix/internal/insightsapi"
)

// maxProcessLimit caps ?limit= so one request cannot ask for a huge copy.
const maxProcessLimit = 10000

// handler serves the API of internal/insightsapi from a view.
type handler struct {
	view  *view
	token string
	self  *selfMetrics
	done  <-chan struct{} // closed at shutdown: streams end
	wg    *sync.WaitGroup // open streams, waited for at shutdown
	stall time.Duration   // a stream write that takes longer ends the stream
	beat  time.Duration
}

func (h *handler) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+insightsapi.PathIncidents, h.incidents)
	mux.HandleFunc("GET "+insightsapi.PathIncident+"{id}", h.incident)
	mux.HandleFunc("GET "+insightsapi.PathProcesses, h.processes)
	mux.HandleFunc("GET "+insightsapi.PathStats, h.stats)
	mux.HandleFunc("GET "+insightsapi.PathEvents, h.events)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no route %s %s; the API's routes start with %s", r.Method, r.URL.Path, insightsapi.Version))
	})
	return h.auth(mux)
}

// auth requires the bearer token when one is configured.
func (h *handler) auth(next http.Handler) http.Handler {
	if h.token == "" {
		return next
	}
	want := []byte("Bearer " + h.token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get(insightsapi.HeaderAuthorization))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="linnix insights"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong bearer token: send Authorization: Bearer <auth_token of the linnix_insights exporter>")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (h *handler) incidents(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, h.view.incidentList())
}

func (h *handler) incident(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	in, ok := h.view.incidentByID(id)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no incident %q: it never fired here, or it resolved more than resolved_retention ago", id))
		return
	}
	writeJSON(w, in)
}

func (h *handler) processes(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sortBy := q.Get(insightsapi.QuerySort)
	switch sortBy {
	case "":
		sortBy = insightsapi.SortCPU
	case insightsapi.SortCPU, insightsapi.SortMemory:
	default:
		writeBad(w, badParam(insightsapi.QuerySort, sortBy, "cpu or memory"))
		return
	}
	limit := 20
	if v := q.Get(insightsapi.QueryLimit); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > maxProcessLimit {
			writeBad(w, badParam(insightsapi.QueryLimit, v, fmt.Sprintf("a number from 1 to %d", maxProcessLimit)))
			return
		}
		limit = n
	}
	writeJSON(w, h.view.processList(sortBy, limit))
}

func (h *handler) stats(w http.ResponseWriter, r *http.Request) {
	st := h.view.stats()
	h.self.fill(r.Context(), &st)
	writeJSON(w, st)
}

// events serves the event stream. The pipeline fills the client's
// channel without waiting; this loop writes what is there in batches,
// reports what the client missed once it has caught up with the channel,
// and writes a comment line when idle so that proxies keep the
// connection.
func (h *handler) events(w http.ResponseWriter, r *http.Request) {
	f, replay, err := parseFilter(r.URL.Query())
	if err != nil {
		writeBad(w, err)
		return
	}
	c, back := h.view.hub.subscribe(f, replay)
	if c == nil {
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("already %d event streams open (max_stream_clients)", h.view.cfg.MaxStreamClients))
		return
	}
	h.wg.Add(1)
	defer h.wg.Done()
	defer h.view.hub.unsubscribe(c)

	rc := http.NewResponseController(w)
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 64<<10)
	flush := func() bool {
		_ = rc.SetWriteDeadline(time.Now().Add(h.stall))
		return bw.Flush() == nil && rc.Flush() == nil
	}
	_, _ = bw.WriteString(": linnix insights " + insightsapi.Version + " event stream\n\n")
	for _, e := range back {
		_, _ = bw.Write(e.frame)
	}
	if !flush() {
		return
	}
	beat := time.NewTicker(h.beat)
	defer beat.Stop()
	for {
		select {
		case e := <-c.ch:
			_, _ = bw.Write(e.frame)
			for n := len(c.ch); n > 0; n-- {
				_, _ = bw.Write((<-c.ch).frame)
			}
		case <-beat.C:
			_, _ = bw.WriteString(": heartbeat\n\n")
		case <-r.Context().Done():
			return
		case <-h.done:
			return
		}
		if m := c.missed.Swap(0); m > 0 {
			b, _ := json.Marshal(insightsapi.Dropped{Missed: m, Total: c.total.Load()})
			_, _ = fmt.Fprintf(bw, "event: %s\ndata: %s\n\n", insightsapi.SSEDropped, b)
		}
		if !flush() {
			return
		}
	}
}

// paramError is a bad query parameter: 400, naming it.
type paramError struct{ name, value, want string }

func (e *paramError) Error() string {
	return fmt.Sprintf("query parameter %s: want %s, got %q", e.name, e.want, e.value)
}

func badParam(name, value, want string) error {
	return &paramError{name, strings.TrimSpace(value), want}
}

func writeBad(w http.ResponseWriter, err error) { writeError(w, http.StatusBadRequest, err.Error()) }

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(insightsapi.Error{Error: msg})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
