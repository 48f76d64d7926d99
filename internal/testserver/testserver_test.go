package testserver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestArgsListenOnLoopbackWithTemporaryStorage(t *testing.T) {
	p := Params{Bin: "/x", Port: 4321, DataDir: "/d", Config: "/c.yml"}
	for name, args := range map[string][]string{
		"prometheus":    PrometheusArgs(p),
		"alertmanager":  AlertmanagerArgs(p),
		"victoria-logs": VictoriaLogsArgs(p),
	} {
		joined := strings.Join(args, " ")
		if !strings.Contains(joined, "127.0.0.1:4321") {
			t.Errorf("%s does not listen on loopback port 4321: %v", name, args)
		}
		if !strings.Contains(joined, "=/d") {
			t.Errorf("%s does not keep its data in the data dir: %v", name, args)
		}
	}
	if !slices.Contains(PrometheusArgs(p), "--web.enable-remote-write-receiver") {
		t.Errorf("prometheus does not accept remote write: %v", PrometheusArgs(p))
	}
	if !slices.Contains(PrometheusArgs(p), "--config.file=/c.yml") || !slices.Contains(AlertmanagerArgs(p), "--config.file=/c.yml") {
		t.Errorf("config file not passed: %v %v", PrometheusArgs(p), AlertmanagerArgs(p))
	}
	// An empty cluster address turns Alertmanager's gossip listener off.
	if !slices.Contains(AlertmanagerArgs(p), "--cluster.listen-address=") {
		t.Errorf("alertmanager clusters: %v", AlertmanagerArgs(p))
	}
}

func TestWaitReadyWaitsFor200(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := WaitReady(ctx, srv.URL, nil); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("ready after %d calls, want 3 (two 503s first)", n)
	}
}

func TestWaitReadyGivesUpWithTheLastAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := WaitReady(ctx, srv.URL, nil)
	if err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("WaitReady = %v, want a timeout naming the 503", err)
	}
}

func TestStartReportsAServerThatExitsWithItsOutput(t *testing.T) {
	k := kind{
		name:      "failing",
		args:      func(Params) []string { return []string{"-c", "echo cannot bind; exit 1"} },
		readyPath: "/",
	}
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	s, err := start(k, Params{Bin: "/bin/sh", Port: port}, 30*time.Second)
	if s != nil {
		defer s.Stop()
	}
	if err == nil || !strings.Contains(err.Error(), "exited") || !strings.Contains(err.Error(), "cannot bind") {
		t.Errorf("start = %v, want the exit and the server's output", err)
	}
}

func TestGoInstallReusesTheCachedBinary(t *testing.T) {
	cache := t.TempDir()
	dir := GoInstallDir(cache, "example.com/m/app/server", "v1.2.3")
	if dir != filepath.Join(cache, "server-v1.2.3") {
		t.Errorf("install dir = %s, want one keyed by name and version", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, "server")
	if err := os.WriteFile(want, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// No network and no go command are needed: the cached binary is used.
	t.Setenv("PATH", "")
	got, err := goInstall(context.Background(), cache, "example.com/m/app/server", "v1.2.3")
	if err != nil || got != want {
		t.Errorf("goInstall = %q, %v; want %q", got, err, want)
	}
}

func TestLockIsExclusiveUntilReleased(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := lock(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := lock(ctx, path); err == nil {
		t.Fatal("a second holder took the lock")
	}
	unlock()
	again, err := lock(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	again()
}

func TestCacheDirFollowsXDG(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/somewhere")
	if got := CacheDir(); got != "/somewhere/otelcol-linnix-test" {
		t.Errorf("CacheDir = %s", got)
	}
}
