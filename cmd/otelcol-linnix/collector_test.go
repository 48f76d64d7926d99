//go:build linux

package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/linnix-os/otelcol-linnix/internal/testserver"
)

// collector is one running otelcol-linnix under test.
type collector struct {
	cmd    *exec.Cmd
	out    *testserver.Buffer
	exited chan struct{}
}

// startCollector runs bin with the given config files and flags and waits
// until its health_check extension on healthPort answers. It is killed at
// the end of the test; its output is logged if the test failed.
func startCollector(t *testing.T, bin string, healthPort int, args ...string) *collector {
	t.Helper()
	c := &collector{cmd: exec.Command(bin, args...), out: &testserver.Buffer{}, exited: make(chan struct{})}
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.out
	// Killed with the test binary too: cleanups do not run when a package
	// times out, and a collector left behind holds BPF programs.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = c.cmd.Wait(); close(c.exited) }()
	t.Cleanup(func() {
		_ = c.cmd.Process.Kill()
		<-c.exited
		if t.Failed() {
			t.Logf("collector %v output:\n%s", args, c.out.String())
		}
	})
	waitFor(t, 90*time.Second, "collector healthy", func() bool {
		select {
		case <-c.exited:
			t.Fatalf("collector exited before becoming healthy:\n%s", c.out.String())
		default:
		}
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", healthPort))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return c
}

// stop sends SIGTERM and requires a clean exit.
func (c *collector) stop(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-c.exited
	if !c.cmd.ProcessState.Success() {
		t.Errorf("collector did not stop cleanly on SIGTERM: %v", c.cmd.ProcessState)
	}
}

// writeConfig writes a config file for one collector of the test.
func writeConfig(t *testing.T, name, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// incidentsIn reads the incident records of a file exporter's output.
func incidentsIn(t *testing.T, path, rule string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range readRecords(t, path) {
		if r["event"] == "linnix.incident" && r["incident.rule"] == rule {
			out = append(out, r)
		}
	}
	return out
}
