// Package testserver runs the real servers that end-to-end tests export to
// (Prometheus, Alertmanager, VictoriaLogs): it installs a missing one, starts
// it on a free loopback port with temporary storage, waits until it says it
// is ready, logs its output when the test fails, and stops it when the test
// ends.
//
// Debian packages are installed with apt-get; Go programs are built with
// `go install` into a version-keyed directory of the user's cache, so a
// second run, or a second test package, reuses the binary. Installation
// holds a file lock, because go test runs packages in parallel and neither
// apt-get nor two half-written binaries tolerate that.
package testserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Server is one running server.
type Server struct {
	// URL is its base address, http://127.0.0.1:PORT, without a slash.
	URL string
	// Port is its loopback port.
	Port int

	cmd    *exec.Cmd
	out    *Buffer
	exited chan struct{}
}

// Output is what the server has written so far.
func (s *Server) Output() string { return s.out.String() }

// Params are what a server's command line is built from.
type Params struct {
	Bin     string // the installed binary
	Port    int    // loopback port to listen on
	DataDir string // temporary storage, removed after the test
	Config  string // path of the config file; empty when the server needs none
}

// kind is one server: how to install it, start it and tell that it is ready.
type kind struct {
	name      string
	install   func(ctx context.Context) (bin string, err error)
	args      func(p Params) []string
	readyPath string
}

// VictoriaLogs is built from source at this release (Apache-2.0; it ingests
// OTLP logs and answers LogsQL queries).
const (
	VictoriaLogsVersion = "v1.52.1"
	victoriaLogsModule  = "github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs"
)

var prometheus = kind{
	name:      "prometheus",
	install:   func(ctx context.Context) (string, error) { return aptInstall(ctx, "prometheus", "/usr/bin/prometheus") },
	args:      PrometheusArgs,
	readyPath: "/-/ready",
}

var alertmanager = kind{
	name: "alertmanager",
	install: func(ctx context.Context) (string, error) {
		return aptInstall(ctx, "prometheus-alertmanager", "/usr/bin/prometheus-alertmanager")
	},
	args:      AlertmanagerArgs,
	readyPath: "/-/ready",
}

var victoriaLogs = kind{
	name: "victoria-logs",
	install: func(ctx context.Context) (string, error) {
		return goInstall(ctx, CacheDir(), victoriaLogsModule, VictoriaLogsVersion)
	},
	args:      VictoriaLogsArgs,
	readyPath: "/health",
}

// PrometheusArgs: remote write accepted at /api/v1/write, TSDB in DataDir.
func PrometheusArgs(p Params) []string {
	return []string{
		"--config.file=" + p.Config,
		"--storage.tsdb.path=" + p.DataDir,
		"--web.listen-address=" + loopback(p.Port),
		"--web.enable-remote-write-receiver",
		"--log.level=warn",
	}
}

// AlertmanagerArgs: no cluster (it would listen on every interface).
func AlertmanagerArgs(p Params) []string {
	return []string{
		"--config.file=" + p.Config,
		"--storage.path=" + p.DataDir,
		"--web.listen-address=" + loopback(p.Port),
		"--cluster.listen-address=",
		"--log.level=warn",
	}
}

// VictoriaLogsArgs: VictoriaLogs needs no config file.
func VictoriaLogsArgs(p Params) []string {
	return []string{
		"-httpListenAddr=" + loopback(p.Port),
		"-storageDataPath=" + p.DataDir,
		"-loggerLevel=WARN",
	}
}

// Prometheus starts Prometheus with the given prometheus.yml contents.
func Prometheus(t testing.TB, config string) *Server { return startT(t, prometheus, config) }

// Alertmanager starts Alertmanager with the given alertmanager.yml contents.
func Alertmanager(t testing.TB, config string) *Server { return startT(t, alertmanager, config) }

// VictoriaLogs starts VictoriaLogs, building it first if it is not cached.
func VictoriaLogs(t testing.TB) *Server { return startT(t, victoriaLogs, "") }

// Promtool returns the path of promtool, installing Prometheus if needed.
func Promtool(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), installTimeout)
	defer cancel()
	bin, err := aptInstall(ctx, "prometheus", "/usr/bin/promtool")
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// installTimeout bounds apt-get and a cold go install (~25 s alone, minutes
// beside a parallel build on two cores).
const installTimeout = 10 * time.Minute

func startT(t testing.TB, k kind, config string) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), installTimeout)
	defer cancel()
	bin, err := k.install(ctx)
	if err != nil {
		t.Fatalf("installing %s: %v", k.name, err)
	}
	dir := t.TempDir()
	p := Params{Bin: bin, DataDir: filepath.Join(dir, "data")}
	if config != "" {
		p.Config = filepath.Join(dir, k.name+".yml")
		if err := os.WriteFile(p.Config, []byte(config), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if p.Port, err = FreePort(); err != nil {
		t.Fatal(err)
	}
	s, err := start(k, p, 60*time.Second)
	if s != nil {
		t.Cleanup(func() {
			s.Stop()
			if t.Failed() {
				t.Logf("%s output:\n%s", k.name, s.Output())
			}
		})
	}
	if err != nil {
		t.Fatalf("starting %s: %v", k.name, err)
	}
	return s
}

// start runs the server and waits until readyPath answers 200. On error the
// returned server, if any, still has to be stopped.
func start(k kind, p Params, readyWithin time.Duration) (*Server, error) {
	s := &Server{
		URL:    "http://" + loopback(p.Port),
		Port:   p.Port,
		cmd:    exec.Command(p.Bin, k.args(p)...),
		out:    &Buffer{},
		exited: make(chan struct{}),
	}
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	// Killed with the test binary too: cleanups do not run when a package
	// times out.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	ctx, cancel := context.WithTimeout(context.Background(), readyWithin)
	defer cancel()
	if err := WaitReady(ctx, s.URL+k.readyPath, s.exited); err != nil {
		return s, fmt.Errorf("%w; output:\n%s", err, s.Output())
	}
	return s, nil
}

// Stop ends the server: SIGTERM, then SIGKILL if it has not exited in 10 s.
func (s *Server) Stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// WaitReady polls url until it answers 200, the context ends, or exited
// (the server's process) closes.
func WaitReady(ctx context.Context, url string, exited <-chan struct{}) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	last := errors.New("no answer yet")
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Errorf("%s answered %s", url, resp.Status)
		} else if ctx.Err() == nil {
			// A request cut short by the deadline says nothing new.
			last = err
		}
		select {
		case <-exited:
			return fmt.Errorf("the server exited before %s answered 200", url)
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w (last: %v)", url, ctx.Err(), last)
		case <-tick.C:
		}
	}
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func loopback(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// CacheDir is where built servers are kept: $XDG_CACHE_HOME (or the user's
// cache directory) /otelcol-linnix-test.
func CacheDir() string {
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		if d, err := os.UserCacheDir(); err == nil {
			base = d
		} else {
			base = os.TempDir()
		}
	}
	return filepath.Join(base, "otelcol-linnix-test")
}

// aptInstall installs a Debian package unless bin already exists. The
// package lists are refreshed only when the first attempt fails.
func aptInstall(ctx context.Context, pkg, bin string) (string, error) {
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	unlock, err := lock(ctx, filepath.Join(CacheDir(), "apt.lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(bin); err == nil {
		return bin, nil // installed by another test package meanwhile
	}
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c",
		"apt-get install -y -qq "+pkg+" || (apt-get update -qq && apt-get install -y -qq "+pkg+")")
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("apt-get install %s (make deps installs it): %w\n%s", pkg, err, out)
	}
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("package %s installed but %s is missing", pkg, bin)
	}
	return bin, nil
}

// GoInstallDir is the directory a Go program of the given main package and
// version is installed into under cache: <cache>/<name>-<version>.
func GoInstallDir(cache, mainPkg, version string) string {
	return filepath.Join(cache, filepath.Base(mainPkg)+"-"+version)
}

// goInstall builds mainPkg@version statically into its version-keyed
// directory unless it is there. The binary is built in a scratch directory
// and renamed into place, so an interrupted build never leaves a broken one.
func goInstall(ctx context.Context, cache, mainPkg, version string) (string, error) {
	dir := GoInstallDir(cache, mainPkg, version)
	bin := filepath.Join(dir, filepath.Base(mainPkg))
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", err
	}
	unlock, err := lock(ctx, dir+".lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	scratch, err := os.MkdirTemp(cache, ".build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(scratch)
	cmd := exec.CommandContext(ctx, "go", "install", mainPkg+"@"+version)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOBIN="+scratch)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install %s@%s: %w\n%s", mainPkg, version, err, out)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(filepath.Join(scratch, filepath.Base(mainPkg)), bin); err != nil {
		return "", err
	}
	return bin, nil
}

// lock takes an exclusive flock on path, waiting at most until ctx ends.
func lock(ctx context.Context, path string) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for %s: %w", path, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Buffer is a process's output, written by the process while it runs and
// read by the test (a server's here; the tests' own collectors and CLIs use
// it too).
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
