package linnixinsightsexporter

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/config/confignet"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap"

	"github.com/linnix-os/otelcol-linnix/exporter/linnixinsightsexporter/internal/metadata"
)

// insights is one exporter instance, shared by the logs and metrics
// pipelines it appears in: one view, one server.
type insights struct {
	cfg  *Config
	set  component.TelemetrySettings
	view *view
	tb   *metadata.TelemetryBuilder

	srv     *http.Server
	addr    net.Addr // where it listens, once started
	done    chan struct{}
	stop    sync.Once
	streams sync.WaitGroup
	served  chan struct{}
}

func newInsights(cfg *Config, set component.TelemetrySettings) (*insights, error) {
	tb, err := metadata.NewTelemetryBuilder(set)
	if err != nil {
		return nil, err
	}
	return &insights{cfg: cfg, set: set, view: newView(cfg, time.Now), tb: tb, done: make(chan struct{})}, nil
}

// consumeLogs never waits on an API client: it updates the view under
// its lock and offers each record to each stream without blocking.
func (e *insights) consumeLogs(ctx context.Context, ld plog.Logs) error {
	if n := e.view.consumeLogs(ld); n > 0 {
		e.tb.LinnixInsightsStreamDropped.Add(ctx, int64(n))
	}
	return nil
}

func (e *insights) consumeMetrics(_ context.Context, md pmetric.Metrics) error {
	e.view.consumeMetrics(md)
	return nil
}

func (e *insights) Start(ctx context.Context, host component.Host) error {
	sc := e.cfg.ServerConfig
	sc.NetAddr = e.cfg.netAddr()
	if sc.NetAddr.Transport == confignet.TransportTypeUnix {
		// A socket left by a collector that did not shut down cleanly
		// would make the bind fail; anything else at the path is kept.
		if fi, err := os.Lstat(sc.NetAddr.Endpoint); err == nil && fi.Mode()&os.ModeSocket != 0 {
			_ = os.Remove(sc.NetAddr.Endpoint)
		}
	}
	ln, err := sc.ToListener(ctx)
	if err != nil {
		return fmt.Errorf("linnix_insights: cannot listen on %s (endpoint): %w", e.cfg.NetAddr.Endpoint, err)
	}
	if sc.NetAddr.Transport == confignet.TransportTypeUnix {
		// No token is needed on a socket: its permissions are the access
		// control, so only the collector's user may connect.
		if err := os.Chmod(sc.NetAddr.Endpoint, 0o600); err != nil {
			ln.Close()
			return fmt.Errorf("linnix_insights: %w", err)
		}
	}
	h := &handler{view: e.view, token: string(e.cfg.AuthToken), done: e.done, wg: &e.streams,
		self:  &selfMetrics{endpoint: e.cfg.SelfMetricsEndpoint, client: &http.Client{}},
		stall: streamStall(e.cfg.WriteTimeout), beat: e.cfg.Heartbeat}
	e.srv, err = sc.ToServer(ctx, host.GetExtensions(), e.set, h.routes())
	if err != nil {
		ln.Close()
		return fmt.Errorf("linnix_insights: %w", err)
	}
	e.served = make(chan struct{})
	go func() {
		defer close(e.served)
		if err := e.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.set.Logger.Error("linnix_insights API server stopped", zap.Error(err))
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(err))
		}
	}()
	e.addr = ln.Addr()
	e.set.Logger.Info("linnix insights API listening", zap.String("endpoint", addrString(e.addr)))
	return nil
}

// streamStall is how long one write to an event stream may take before
// the stream is ended: write_timeout when set, else two minutes, long
// enough for a paused client (a terminal scrolled back) to resume.
func streamStall(writeTimeout time.Duration) time.Duration {
	if writeTimeout > 0 {
		return writeTimeout
	}
	return 2 * time.Minute
}

func addrString(a net.Addr) string {
	if a.Network() == "unix" {
		return unixScheme + a.String()
	}
	return a.String()
}

// Shutdown ends the streams and closes the server and its connections;
// Shutdown of http.Server alone would wait for streams that never end.
func (e *insights) Shutdown(ctx context.Context) error {
	if e.srv == nil {
		e.tb.Shutdown()
		return nil
	}
	var err error
	e.stop.Do(func() {
		defer e.tb.Shutdown()
		close(e.done)
		err = e.srv.Close()
	})
	waited := make(chan struct{})
	go func() { e.streams.Wait(); <-e.served; close(waited) }()
	select {
	case <-waited:
	case <-ctx.Done():
		return errors.Join(err, ctx.Err())
	}
	return err
}
