//go:build linux

package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// An agent (collector A: ebpfprocess) sends its records over OTLP to a
// gateway (collector B: otlp receiver -> file). Every record A produced for
// the test's children reaches B, over gRPC and over HTTP, even when B is
// away for 10 s and A is SIGKILLed meanwhile: A's sending queue lives in
// file_storage and survives the kill.

// otlpAgentConfig: only the test's children (their executable has its own
// name), to the file exporter (A's own account of what it produced) and to
// the gateway through a persistent queue.
const otlpAgentConfig = `
extensions:
  health_check: {endpoint: "127.0.0.1:%[1]d"}
  file_storage: {directory: "%[2]s"}
receivers:
  ebpfprocess:
    include: {executables: ["^%[3]s$"]}
exporters:
  file: {path: "%[4]s", append: true, flush_interval: 10ms}
  %[5]s:
    endpoint: "%[6]s"
    tls: {insecure: true}
    # Long enough that a loaded machine's slow answer is not taken for a
    # failure and sent again (a down gateway refuses at once anyway).
    timeout: 10s
    sending_queue: {storage: file_storage}
    retry_on_failure: {initial_interval: 100ms, max_interval: 1s, max_elapsed_time: 0}
service:
  extensions: [health_check, file_storage]
  pipelines:
    logs: {receivers: [ebpfprocess], exporters: [file, %[5]s]}
  telemetry:
    metrics: {level: none}
`

// otlpGatewayConfig: B appends what it receives, so that its file spans
// its restarts.
const otlpGatewayConfig = `
extensions:
  health_check: {endpoint: "127.0.0.1:%[1]d"}
receivers:
  otlp:
    protocols:
      %[2]s: {endpoint: "127.0.0.1:%[3]d"}
exporters:
  file: {path: "%[4]s", append: true, flush_interval: 10ms}
service:
  extensions: [health_check]
  pipelines:
    logs: {receivers: [otlp], exporters: [file]}
  telemetry:
    metrics: {level: none}
`

func TestAgentToGatewayLosesNothingAcrossRestarts(t *testing.T) {
	requireRoot(t)
	bin := buildCollector(t)
	for _, tc := range []struct{ exporter, protocol, endpoint string }{
		{"otlp_grpc", "grpc", "127.0.0.1:%d"},
		{"otlp_http", "http", "http://127.0.0.1:%d"},
	} {
		t.Run(tc.exporter, func(t *testing.T) {
			dir := t.TempDir()
			exe := fmt.Sprintf("linnixgw%d", time.Now().UnixNano()%1e6)
			child := filepath.Join(dir, exe)
			copyFile(t, "/bin/true", child)
			aOut, bOut := filepath.Join(dir, "agent.jsonl"), filepath.Join(dir, "gateway.jsonl")
			storage := filepath.Join(dir, "queue")
			if err := os.Mkdir(storage, 0o700); err != nil {
				t.Fatal(err)
			}
			aHealth, bHealth, bPort := freePort(t), freePort(t), freePort(t)
			bConfig := writeConfig(t, "gateway.yaml", fmt.Sprintf(otlpGatewayConfig, bHealth, tc.protocol, bPort, bOut))
			aConfig := writeConfig(t, "agent.yaml", fmt.Sprintf(otlpAgentConfig, aHealth, storage, exe, aOut, tc.exporter, fmt.Sprintf(tc.endpoint, bPort)))

			b := startCollector(t, bin, bHealth, "--config", bConfig)
			a := startCollector(t, bin, aHealth, "--config", aConfig)

			// Spawn a child every 50 ms for the whole run; remember when
			// each was spawned.
			var mu sync.Mutex
			spawned := map[int64]time.Time{}
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				for {
					select {
					case <-stop:
						return
					case <-time.After(50 * time.Millisecond):
					}
					c := exec.Command(child)
					at := time.Now()
					if c.Run() == nil {
						mu.Lock()
						spawned[int64(c.Process.Pid)] = at
						mu.Unlock()
					}
				}
			}()
			defer func() {
				select {
				case <-stop:
				default:
					close(stop)
				}
				<-done
			}()

			began := time.Now()
			time.Sleep(3 * time.Second)
			b.stop(t) // B away for 10 s
			bStopped := time.Now()
			time.Sleep(2 * time.Second)
			_ = a.cmd.Process.Signal(syscall.SIGKILL) // A killed while B is away
			<-a.exited
			killed := time.Now()
			time.Sleep(2 * time.Second)
			startCollector(t, bin, aHealth, "--config", aConfig) // same queue
			time.Sleep(6 * time.Second)
			startCollector(t, bin, bHealth, "--config", bConfig)
			bBack := time.Now()
			time.Sleep(3 * time.Second)
			close(stop)
			<-done

			// A's own file: what it produced for the children.
			produced := childRecords(t, aOut, spawned, &mu)
			if len(produced) == 0 {
				t.Fatal("the agent produced no record of the children")
			}
			var received map[recordKey]int
			missing := 0
			waitFor(t, 60*time.Second, "every record the agent produced at the gateway", func() bool {
				received = childRecords(t, bOut, spawned, &mu)
				missing = 0
				for k := range produced {
					if received[k] == 0 {
						missing++
					}
				}
				return missing == 0
			})

			// At-least-once: a record is received twice only when it was
			// in flight when a collector stopped, i.e. produced before A
			// was killed; never one produced after both were back.
			// The run tested the queue: records were produced while B was
			// away, A's first life queued some of them on disk.
			whileAway := 0
			mu.Lock()
			for k := range produced {
				if at := spawned[k.pid]; at.After(bStopped) && at.Before(bBack) {
					whileAway++
				}
			}
			mu.Unlock()
			if whileAway == 0 {
				t.Error("no record was produced while the gateway was away")
			}

			duplicates, notInA := 0, 0
			for k, n := range received {
				if produced[k] == 0 {
					notInA++ // sent, and A killed before its file caught up
					continue
				}
				if n > 1 {
					duplicates += n - 1
					mu.Lock()
					at := spawned[k.pid]
					mu.Unlock()
					if at.After(killed) {
						t.Errorf("%v received %d times, produced after the kill", k, n)
					}
				}
			}
			mu.Lock()
			n := len(spawned)
			mu.Unlock()
			t.Logf("%s: %d children spawned in %v; A produced %d exec/exit records (%d while B was away), B received all of them, %d duplicates, %d not in A's file",
				tc.exporter, n, time.Since(began).Round(time.Second), len(produced), whileAway, duplicates, notInA)
		})
	}
}

type recordKey struct {
	event string
	pid   int64
}

// childRecords counts the exec and exit records of the spawned children in
// a file exporter's output.
func childRecords(t *testing.T, path string, spawned map[int64]time.Time, mu *sync.Mutex) map[recordKey]int {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	out := map[recordKey]int{}
	for _, r := range readRecords(t, path) {
		pid, _ := r["process.pid"].(int64)
		ev, _ := r["event"].(string)
		if _, ok := spawned[pid]; !ok || (ev != "linnix.process.exec" && ev != "linnix.process.exit") {
			continue
		}
		out[recordKey{ev, pid}]++
	}
	return out
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestGatewayExamplesValidate: the shipped agent and gateway configs, whose
// shape the test above runs, are valid as they are.
func TestGatewayExamplesValidate(t *testing.T) {
	bin := buildCollector(t)
	for _, example := range []string{"../../examples/gateway-agent.yaml", "../../examples/gateway.yaml", lokiExample} {
		if out, err := exec.Command(bin, "validate", "--config", example).CombinedOutput(); err != nil {
			t.Errorf("validate %s: %v\n%s", example, err, out)
		}
	}
}
