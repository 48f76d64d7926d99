//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
	"github.com/linnix-os/otelcol-linnix/internal/insightsapi"
	"github.com/linnix-os/otelcol-linnix/internal/kerneltest"
)

// The linnix_insights exporter in the built collector: a stream client
// that stops reading during a 20,000-process storm loses records alone,
// and is told so; the pipeline (the file exporter beside it) and a client
// that reads lose nothing.

const insightsConfig = `
extensions:
  health_check:
    endpoint: 127.0.0.1:%d
receivers:
  ebpfprocess:
    collection_interval: 1s
processors:
  batch:
    send_batch_size: 1024
    timeout: 200ms
exporters:
  linnix_insights:
    endpoint: 127.0.0.1:%d
    self_metrics_endpoint: http://127.0.0.1:%d/metrics
    stream_buffer: 4096
    max_events: 1000
  file:
    path: %s
    format: json
service:
  extensions: [health_check]
  pipelines:
    logs:
      receivers: [ebpfprocess]
      processors: [batch]
      exporters: [linnix_insights, file]
    metrics:
      receivers: [ebpfprocess]
      exporters: [linnix_insights]
  telemetry:
    metrics:
      readers:
        - pull: {exporter: {prometheus: {host: 127.0.0.1, port: %d}}}
`

// sseMessage is one message of a raw event stream.
type sseMessage struct {
	event string
	data  []byte
}

// readStream parses a Server-Sent Events body onto a channel until it
// ends; comment lines (heartbeats) are skipped.
func readStream(body *bufio.Reader, out chan<- sseMessage) {
	defer close(out)
	var m sseMessage
	for {
		line, err := body.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if m.data != nil {
				out <- m
			}
			m = sseMessage{}
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "event: "):
			m.event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			m.data = []byte(strings.TrimPrefix(line, "data: "))
		}
	}
}

// pidCounts counts records by event type and pid.
type pidCounts map[insightsapi.EventType]map[int64]int

func (p pidCounts) add(t insightsapi.EventType, pid int64) {
	if p[t] == nil {
		p[t] = map[int64]int{}
	}
	p[t][pid]++
}

// missing is how many exec and exit records of spawned (pid -> times
// spawned) p lacks.
func (p pidCounts) missing(spawned map[int]int) int {
	n := 0
	for pid, k := range spawned {
		n += max(0, k-p[insightsapi.EventExec][int64(pid)]) + max(0, k-p[insightsapi.EventExit][int64(pid)])
	}
	return n
}

func TestInsightsSlowStreamClientLosesAloneDuringASpawnStorm(t *testing.T) {
	requireRoot(t)
	kerneltest.Require(t)
	kerneltest.Exclusive(t) // the storm
	bin := buildCollector(t)
	health, api, telemetry := freePort(t), freePort(t), freePort(t)
	out := filepath.Join(t.TempDir(), "events.jsonl")
	c := startCollector(t, bin, health, "--config",
		writeConfig(t, "insights.yaml", fmt.Sprintf(insightsConfig, health, api, telemetry, out, telemetry)))
	addr := fmt.Sprintf("127.0.0.1:%d", api)
	client := insightsapi.NewClient(addr, "", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// The slow client connects and reads nothing for 30 s.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+insightsapi.PathEvents, nil)
	slowResp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer slowResp.Body.Close()
	slowConnected := time.Now()

	// The fast client reads everything as it comes.
	fast, err := client.Events(ctx, insightsapi.EventFilter{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	fastGot := pidCounts{}
	var fastMissed uint64
	var fastErr error
	go func() {
		for it := range fast {
			mu.Lock()
			switch {
			case it.Err != nil:
				fastErr = it.Err
			case it.Dropped != nil:
				fastMissed += it.Dropped.Missed
			default:
				fastGot.add(it.Event.Type, it.Event.PID)
			}
			mu.Unlock()
		}
	}()
	waitFor(t, 10*time.Second, "both stream clients connected", func() bool {
		st, err := client.Stats(ctx)
		return err == nil && st.StreamClients == 2
	})

	// The storm, as the receiver's loss test spawns it.
	total := 20000
	if v, err := strconv.Atoi(os.Getenv("LINNIX_STORM_PROCS")); err == nil && v > 0 {
		total = v
	}
	spawners := max(4, runtime.NumCPU())
	spawned := map[int]int{}
	var wg sync.WaitGroup
	var smu sync.Mutex
	start := time.Now()
	for w := range spawners {
		n := total / spawners
		if w < total%spawners {
			n++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]int, 0, n)
			for range n {
				cmd := exec.Command("/bin/true")
				if err := cmd.Run(); err != nil {
					t.Errorf("spawn: %v", err)
					return
				}
				local = append(local, cmd.Process.Pid)
			}
			smu.Lock()
			for _, p := range local {
				spawned[p]++
			}
			smu.Unlock()
		}()
	}

	// At 30 s the slow client's drop counter has grown, and it starts
	// reading, storm or not.
	time.Sleep(time.Until(slowConnected.Add(30 * time.Second)))
	st, err := client.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.StreamDropped == 0 {
		t.Errorf("nothing dropped for a client that read nothing for 30 s of a %d-process storm: %+v", total, st)
	}
	if st.SelfMetricsError != "" || st.CollectorRSS == 0 {
		t.Errorf("self metrics: %+v", st)
	}
	if _, ok := st.Lost[contract.LostRingFull]; !ok {
		t.Errorf("stats lack the receiver's lost-event counters: %v", st.Lost)
	}
	if dropped := metricSum(t, telemetry, "otelcol_linnix_insights_stream_dropped"); dropped < float64(st.StreamDropped) {
		t.Errorf("telemetry counts %v dropped, stats %d before", dropped, st.StreamDropped)
	}
	var slowMu sync.Mutex
	slowGot := pidCounts{}
	var slowMissed uint64
	slowEnded := make(chan struct{})
	go func() {
		defer close(slowEnded)
		msgs := make(chan sseMessage, 1024)
		go readStream(bufio.NewReaderSize(slowResp.Body, 64<<10), msgs)
		for m := range msgs {
			slowMu.Lock()
			switch m.event {
			case insightsapi.SSEDropped:
				var d insightsapi.Dropped
				if err := json.Unmarshal(m.data, &d); err == nil {
					slowMissed += d.Missed
				}
			case insightsapi.SSERecord:
				var ev insightsapi.Event
				if err := json.Unmarshal(m.data, &ev); err == nil {
					slowGot.add(ev.Type, ev.PID)
				}
			}
			slowMu.Unlock()
		}
	}()

	wg.Wait()
	if t.Failed() {
		return
	}
	t.Logf("%d processes in %v", total, time.Since(start).Round(time.Millisecond))

	// The pipeline was never held up: the file exporter has every record.
	var fileMissing int
	deadline := time.Now().Add(90 * time.Second)
	for {
		inFile := pidCounts{}
		for _, r := range readRecords(t, out) {
			pid, _ := r[contract.ProcessPID].(int64)
			switch r["event"] {
			case contract.EventExec:
				inFile.add(insightsapi.EventExec, pid)
			case contract.EventExit:
				inFile.add(insightsapi.EventExit, pid)
			}
		}
		if fileMissing = inFile.missing(spawned); fileMissing == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Second)
	}
	if fileMissing != 0 {
		t.Errorf("the file exporter lacks %d of the storm's %d exec and exit records", fileMissing, 2*total)
	}

	// The reading client got every record of the storm, and missed none.
	var fastMissing int
	waitFor(t, 60*time.Second, "the reading client to have the whole storm", func() bool {
		mu.Lock()
		defer mu.Unlock()
		fastMissing = fastGot.missing(spawned)
		return fastMissing == 0 || fastErr != nil
	})
	mu.Lock()
	if fastErr != nil || fastMissed != 0 {
		t.Errorf("reading client: error %v, told of %d missed records", fastErr, fastMissed)
	}
	mu.Unlock()

	// The slow client, reading since 30 s, was told how many records it
	// missed, and what it got and what it missed cover every storm record
	// the reading client got.
	stormRecords := 0
	mu.Lock()
	for _, typ := range []insightsapi.EventType{insightsapi.EventExec, insightsapi.EventExit} {
		for pid := range spawned {
			stormRecords += fastGot[typ][int64(pid)]
		}
	}
	mu.Unlock()
	slowCovered := func() int {
		n := int(slowMissed)
		for _, typ := range []insightsapi.EventType{insightsapi.EventExec, insightsapi.EventExit} {
			for pid := range spawned {
				n += slowGot[typ][int64(pid)]
			}
		}
		return n
	}
	waitFor(t, 60*time.Second, "the slow client to cover the storm", func() bool {
		select {
		case <-slowEnded:
			t.Fatal("the slow client's stream ended")
		default:
		}
		slowMu.Lock()
		defer slowMu.Unlock()
		return slowMissed > 0 && slowCovered() >= stormRecords
	})
	if st, err = client.Stats(ctx); err != nil {
		t.Fatal(err)
	}
	slowMu.Lock()
	if slowMissed > st.StreamDropped {
		t.Errorf("slow client told of %d missed records, the exporter counted %d", slowMissed, st.StreamDropped)
	}
	slowMu.Unlock()
	t.Logf("slow client: told of %d missed records; exporter dropped %d in all; reading client: %d storm records",
		slowMissed, st.StreamDropped, stormRecords)
	cancel()
	c.stop(t)
}

// metricSum adds up the samples of a counter on the collector's
// telemetry endpoint, with or without the _total suffix.
func metricSum(t *testing.T, port int, name string) float64 {
	t.Helper()
	sum := 0.0
	for _, line := range strings.Split(httpGet(fmt.Sprintf("http://127.0.0.1:%d/metrics", port)), "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+"_total{") &&
			!strings.HasPrefix(line, name+" ") && !strings.HasPrefix(line, name+"_total ") {
			continue
		}
		fields := strings.Fields(line)
		if v, err := strconv.ParseFloat(fields[len(fields)-1], 64); err == nil {
			sum += v
		}
	}
	return sum
}

func TestInsightsOnANonLoopbackAddressNeedsAToken(t *testing.T) {
	bin := buildCollector(t)
	out, err := exec.Command(bin, "validate", "--config", exampleConfig,
		"--config", "yaml:exporters::linnix_insights::endpoint: 0.0.0.0:7070").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "linnix_insights") || !strings.Contains(string(out), "auth_token: required when endpoint") {
		t.Errorf("validate accepted the API on every interface without a token, or did not name auth_token: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "validate", "--config", exampleConfig,
		"--config", "yaml:exporters::linnix_insights::endpoint: 0.0.0.0:7070",
		"--config", "yaml:exporters::linnix_insights::auth_token: s3cret").CombinedOutput()
	if err != nil {
		t.Errorf("validate refused the API on every interface with a token: %v\n%s", err, out)
	}
}
