package linnixinsightsexporter

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/linnix-os/otelcol-linnix/internal/insightsapi"
)

// selfMetrics reads the collector's own telemetry endpoint. The receiver's
// lost-event counters and the collector's CPU and memory are internal
// telemetry, which never passes through a pipeline as pdata.
type selfMetrics struct {
	endpoint string
	client   *http.Client
}

// The names on the endpoint. Counters get a _total suffix or not, and
// units a suffix or not, depending on the collector's Prometheus
// translation settings: both spellings are read.
var (
	lostNames = []string{"otelcol_linnix_receiver_events_lost_total", "otelcol_linnix_receiver_events_lost"}
	cpuNames  = []string{"otelcol_process_cpu_seconds_total", "otelcol_process_cpu_seconds"}
	rssNames  = []string{"otelcol_process_memory_rss_bytes", "otelcol_process_memory_rss"}
)

// fill sets the self metrics of st, or SelfMetricsError.
func (s *selfMetrics) fill(ctx context.Context, st *insightsapi.Stats) {
	st.Lost = map[string]float64{}
	if s.endpoint == "" {
		st.SelfMetricsError = "self_metrics_endpoint is not set"
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.endpoint, nil)
	if err != nil {
		st.SelfMetricsError = err.Error()
		return
	}
	resp, err := s.client.Do(req)
	if err != nil {
		st.SelfMetricsError = fmt.Sprintf("cannot read the collector's telemetry at %s (self_metrics_endpoint; service::telemetry::metrics must serve Prometheus there): %v", s.endpoint, err)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		st.SelfMetricsError = fmt.Sprintf("the collector's telemetry at %s (self_metrics_endpoint) answered %s", s.endpoint, resp.Status)
		return
	}
	sawCPU, sawRSS := false, false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, labels, value, ok := parseSample(sc.Text())
		switch {
		case !ok:
		case oneOf(name, lostNames):
			st.Lost[label(labels, "reason")] += value
		case oneOf(name, cpuNames):
			st.CollectorCPU, sawCPU = value, true
		case oneOf(name, rssNames):
			st.CollectorRSS, sawRSS = int64(value), true
		}
	}
	if err := sc.Err(); err != nil {
		st.SelfMetricsError = fmt.Sprintf("reading %s: %v", s.endpoint, err)
	} else if !sawCPU || !sawRSS {
		st.SelfMetricsError = fmt.Sprintf("%s (self_metrics_endpoint) has no otelcol_process_cpu_seconds or otelcol_process_memory_rss: is it this collector's telemetry endpoint?", s.endpoint)
	}
}

func oneOf(name string, names []string) bool {
	for _, n := range names {
		if name == n {
			return true
		}
	}
	return false
}

// parseSample reads one sample line of the Prometheus text format:
// `name{k="v",...} value [timestamp]`. Comments and malformed lines give
// ok false.
func parseSample(line string) (name, labels string, value float64, ok bool) {
	if line == "" || line[0] == '#' {
		return "", "", 0, false
	}
	rest := line
	if i := strings.IndexByte(line, '{'); i >= 0 {
		j := strings.LastIndexByte(line, '}')
		if j < i {
			return "", "", 0, false
		}
		name, labels, rest = line[:i], line[i+1:j], line[j+1:]
	} else {
		i := strings.IndexByte(line, ' ')
		if i < 0 {
			return "", "", 0, false
		}
		name, rest = line[:i], line[i:]
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return "", "", 0, false
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	return name, labels, v, err == nil
}

// label returns the value of key in a label set `k="v",k2="v2"`.
func label(labels, key string) string {
	for labels != "" {
		eq := strings.IndexByte(labels, '=')
		if eq < 0 || eq+1 >= len(labels) || labels[eq+1] != '"' {
			return ""
		}
		k := strings.TrimSpace(labels[:eq])
		rest := labels[eq+2:]
		var val strings.Builder
		i := 0
		for ; i < len(rest) && rest[i] != '"'; i++ {
			if rest[i] == '\\' && i+1 < len(rest) {
				i++
			}
			val.WriteByte(rest[i])
		}
		if k == key {
			return val.String()
		}
		if i+1 >= len(rest) {
			return ""
		}
		labels = strings.TrimLeft(rest[i+1:], ", ")
	}
	return ""
}
