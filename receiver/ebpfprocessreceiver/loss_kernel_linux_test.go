package ebpfprocessreceiver

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
)

// TestNoLossUnderSpawnStorm spawns short-lived processes as fast as the
// machine allows and requires every exec and exit record, with the default
// ring buffer and nothing counted as lost. LINNIX_STORM_PROCS and
// LINNIX_STORM_SPAWNERS scale it on bigger machines.
func TestNoLossUnderSpawnStorm(t *testing.T) {
	total := envInt(t, "LINNIX_STORM_PROCS", 20000)
	spawners := envInt(t, "LINNIX_STORM_SPAWNERS", max(4, runtime.NumCPU()))
	run := startReceiver(t, createDefaultConfig().(*Config))

	// pids are reused within a run (pid_max can be 32768), so count them.
	spawned := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < spawners; w++ {
		n := total / spawners
		if w < total%spawners {
			n++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]int, 0, n)
			for i := 0; i < n; i++ {
				cmd := exec.Command("/bin/true")
				if err := cmd.Run(); err != nil {
					t.Errorf("spawn: %v", err)
					return
				}
				local = append(local, cmd.Process.Pid)
			}
			mu.Lock()
			for _, p := range local {
				spawned[p]++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	require.False(t, t.Failed())

	missing := func() (exec, exit int) {
		seen := map[string]map[int]int{contract.EventExec: {}, contract.EventExit: {}}
		for _, r := range run.records() {
			if m, ok := seen[r.event]; ok {
				m[int(r.attrs["process.pid"].(int64))]++
			}
		}
		for pid, n := range spawned {
			exec += max(0, n-seen[contract.EventExec][pid])
			exit += max(0, n-seen[contract.EventExit][pid])
		}
		return exec, exit
	}
	var missExec, missExit int
	deadline := time.Now().Add(60 * time.Second)
	for {
		missExec, missExit = missing()
		if missExec == 0 && missExit == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("%d processes from %d spawners in %v (%.0f spawns/s); missing exec %d, exit %d",
		total, spawners, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(), missExec, missExit)
	assert.Zero(t, missExec, "exec records missing")
	assert.Zero(t, missExit, "exit records missing")
	for reason, n := range run.losses(t) {
		assert.Zero(t, n, "lost events, reason %s", reason)
	}
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	require.NoError(t, err, name)
	return v
}
