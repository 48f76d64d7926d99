package linnixinsightsexporter

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
	"github.com/linnix-os/otelcol-linnix/internal/insightsapi"
)

// benchClientsEnv makes the test binary a process of stream clients for
// BenchmarkStreamFanout10 (see streamClients), so that the exporter's
// CPU time is measured apart from its clients'.
const benchClientsEnv = "LINNIX_INSIGHTS_BENCH_CLIENTS"

func init() {
	if addr := os.Getenv(benchClientsEnv); addr != "" {
		os.Exit(streamClients(addr, 10))
	}
}

// BenchmarkStreamFanout10 measures records per second through the
// exporter to 10 event-stream clients: real HTTP clients on loopback, in
// another process, that read and parse every frame. Records go in batches
// of 1000, the next once every client has the last, so the figure is what
// every client receives in full (no drops), encoding and HTTP included.
// records/cpu-s divides by the exporter process's CPU time, which is what
// it costs the collector; on a shared machine the wall clock (records/s)
// also counts other processes' time.
//
//	go test ./exporter/linnixinsightsexporter -run '^$' -bench StreamFanout10 -cpu 1 -benchtime 200000x
func BenchmarkStreamFanout10(b *testing.B) {
	const batch = 1000
	s := startServer(b, nil)

	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), benchClientsEnv+"="+s.addr)
	cmd.Stderr = os.Stderr
	targets, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	acks, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	ack := bufio.NewScanner(acks)
	wait := func() {
		if !ack.Scan() {
			b.Fatalf("stream clients gone: %v", ack.Err())
		}
	}
	wait() // connected
	for s.view.hub.clientCount() != 10 {
		time.Sleep(time.Millisecond)
	}

	full, rest := execBatch(batch), execBatch(b.N%batch)
	ctx := context.Background()
	seq := uint64(0)
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime(b)
	for sent := 0; sent < b.N; {
		ld, n := full, batch
		if b.N-sent < batch {
			ld, n = rest, b.N-sent
		}
		seq += uint64(n)
		fmt.Fprintln(targets, seq)
		if err := s.consumeLogs(ctx, ld); err != nil {
			b.Fatal(err)
		}
		wait()
		sent += n
	}
	elapsed, cpu := time.Since(start), cpuTime(b)-cpu0
	b.StopTimer()
	if d := s.view.hub.dropped.Load(); d != 0 {
		b.Fatalf("%d records dropped", d)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "records/s")
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "records/cpu-s")
	b.ReportMetric(float64(len(s.view.hub.ring[0].frame)), "frame-bytes")
}

// streamClients connects n streams to the API at addr, says "ready", then
// for every sequence number read from stdin answers once every stream has
// received that record.
func streamClients(addr string, n int) int {
	var mu sync.Mutex
	cond := sync.NewCond(&mu)
	last := make([]uint64, n)
	for i := range n {
		resp, err := http.Get("http://" + addr + insightsapi.PathEvents)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		go func() {
			r := bufio.NewReaderSize(resp.Body, 64<<10)
			idPrefix := []byte("id: ")
			for {
				line, err := r.ReadSlice('\n')
				if err != nil {
					return
				}
				if bytes.HasPrefix(line, idPrefix) {
					seq, _ := strconv.ParseUint(string(line[len(idPrefix):len(line)-1]), 10, 64)
					mu.Lock()
					last[i] = seq
					cond.Broadcast()
					mu.Unlock()
				}
			}
		}()
	}
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		target, _ := strconv.ParseUint(in.Text(), 10, 64)
		mu.Lock()
		for i := 0; i < n; {
			if last[i] >= target {
				i++
				continue
			}
			cond.Wait()
		}
		mu.Unlock()
		fmt.Println("ok")
	}
	return 0
}

// cpuTime is the CPU time this process used so far, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// execBatch is n exec records as the receiver writes them.
func execBatch(n int) plog.Logs {
	l := newLogs()
	for i := range n {
		a := l.lifecycle(contract.EventExec, int64(10000+i), "python3", "")
		a.PutInt(contract.ProcessUserID, 1000)
		a.PutInt(contract.ProcessRealUserID, 1000)
		a.PutInt(contract.ProcessGroupID, 1000)
		a.PutInt(contract.ProcessRealGroupID, 1000)
		a.PutStr(contract.ProcessLinuxCgroup, "0::/user.slice/user-1000.slice/session-3.scope")
		a.PutInt(contract.CgroupID, 7421)
		a.PutStr(contract.ProcessWorkingDirectory, "/srv/app")
	}
	return l.ld
}
