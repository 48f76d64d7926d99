package linnixinsightsexporter

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/confignet"
	"go.opentelemetry.io/collector/config/configopaque"

	"github.com/linnix-os/otelcol-linnix/internal/insightsapi"
)

// unixScheme lets endpoint name a unix socket in one field, as the CLI's
// --addr does; `transport: unix` with a plain path works too.
const unixScheme = "unix://"

// Config of the linnix_insights exporter.
type Config struct {
	// ServerConfig: endpoint (host:port, or unix:///path), transport, tls,
	// timeouts... of the API's HTTP server.
	confighttp.ServerConfig `mapstructure:",squash"`
	// AuthToken, when set, is required as `Authorization: Bearer <token>`
	// on every request. Required when endpoint is not a loopback address.
	AuthToken configopaque.String `mapstructure:"auth_token"`

	// MaxEvents lifecycle records and incidents are kept for replay.
	MaxEvents int `mapstructure:"max_events"`
	// MaxIncidents bounds the incidents kept; the least recently updated
	// go first. Resolved ones also go ResolvedRetention after resolving.
	MaxIncidents      int           `mapstructure:"max_incidents"`
	ResolvedRetention time.Duration `mapstructure:"resolved_retention"`
	// MaxProcesses bounds the processes kept; a process not reported for
	// ProcessStaleAfter, or whose exit record passed, is dropped.
	MaxProcesses      int           `mapstructure:"max_processes"`
	ProcessStaleAfter time.Duration `mapstructure:"process_stale_after"`

	// StreamBuffer records wait for each client of the event stream; when
	// a client's buffer is full its next records are dropped for it alone.
	StreamBuffer int `mapstructure:"stream_buffer"`
	// MaxStreamClients is the number of event streams served at once.
	MaxStreamClients int `mapstructure:"max_stream_clients"`
	// Heartbeat is the interval of the comment lines that keep an idle
	// stream open through proxies.
	Heartbeat time.Duration `mapstructure:"heartbeat"`

	// SelfMetricsEndpoint is the collector's own Prometheus telemetry
	// endpoint, where the receiver's lost-event counters and the
	// collector's CPU and memory are read (they are not pdata).
	SelfMetricsEndpoint string `mapstructure:"self_metrics_endpoint"`
}

func createDefaultConfig() *Config {
	srv := confighttp.NewDefaultServerConfig()
	srv.NetAddr.Endpoint = insightsapi.DefaultEndpoint
	// Event streams live for hours: a write deadline for the whole
	// response would cut them. Streams set their own per-write deadline.
	srv.WriteTimeout = 0
	return &Config{
		ServerConfig:        srv,
		MaxEvents:           10000,
		MaxIncidents:        1000,
		ResolvedRetention:   time.Hour,
		MaxProcesses:        10000,
		ProcessStaleAfter:   30 * time.Second,
		StreamBuffer:        8192,
		MaxStreamClients:    16,
		Heartbeat:           15 * time.Second,
		SelfMetricsEndpoint: "http://127.0.0.1:8888/metrics",
	}
}

// netAddr is where to listen: endpoint, with unix://PATH turned into the
// unix transport.
func (c *Config) netAddr() confignet.AddrConfig {
	a := c.NetAddr
	if p, ok := strings.CutPrefix(a.Endpoint, unixScheme); ok {
		a.Endpoint, a.Transport = p, confignet.TransportTypeUnix
	}
	return a
}

// Validate names the field at fault.
func (c *Config) Validate() error {
	var errs []error
	a := c.netAddr()
	switch a.Transport {
	case confignet.TransportTypeUnix:
		if a.Endpoint == "" {
			errs = append(errs, errors.New("endpoint: a unix socket needs a path (unix:///run/linnix/insights.sock)"))
		}
	case "", confignet.TransportTypeTCP, confignet.TransportTypeTCP4, confignet.TransportTypeTCP6:
		host, _, err := net.SplitHostPort(a.Endpoint)
		if err != nil {
			errs = append(errs, fmt.Errorf("endpoint: want host:port or unix:///path, got %q: %w", a.Endpoint, err))
		} else if !isLoopback(host) && c.AuthToken == "" {
			errs = append(errs, fmt.Errorf("auth_token: required when endpoint %q is not a loopback address: the API shows every process and command line on this host", a.Endpoint))
		}
	default:
		errs = append(errs, fmt.Errorf("transport: must be tcp, tcp4, tcp6 or unix, got %q", a.Transport))
	}
	if strings.ContainsAny(string(c.AuthToken), " \t\r\n") {
		errs = append(errs, errors.New("auth_token: must not contain white space"))
	}
	for name, v := range map[string]int{"max_events": c.MaxEvents, "max_incidents": c.MaxIncidents,
		"max_processes": c.MaxProcesses, "stream_buffer": c.StreamBuffer, "max_stream_clients": c.MaxStreamClients} {
		if v <= 0 {
			errs = append(errs, fmt.Errorf("%s: must be positive, got %d", name, v))
		}
	}
	for name, v := range map[string]time.Duration{"resolved_retention": c.ResolvedRetention,
		"process_stale_after": c.ProcessStaleAfter, "heartbeat": c.Heartbeat} {
		if v <= 0 {
			errs = append(errs, fmt.Errorf("%s: must be a positive duration, got %v", name, v))
		}
	}
	if c.SelfMetricsEndpoint != "" {
		if u, err := url.Parse(c.SelfMetricsEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("self_metrics_endpoint: want an http(s) URL such as http://127.0.0.1:8888/metrics, got %q", c.SelfMetricsEndpoint))
		}
	}
	return errors.Join(errs...)
}

// isLoopback: localhost or a loopback IP. An empty host means every
// interface, which is not loopback.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
