package linnixinsightsexporter

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confignet"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/linnix-os/otelcol-linnix/exporter/linnixinsightsexporter/internal/metadata"
	"github.com/linnix-os/otelcol-linnix/internal/insightsapi"
)

func load(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	id := component.NewID(metadata.Type)
	if name != "" {
		id = component.MustNewIDWithName(metadata.Type.String(), name)
	}
	sub, err := cm.Sub(id.String())
	if err != nil {
		t.Fatal(err)
	}
	cfg := NewFactory().CreateDefaultConfig()
	if err := sub.Unmarshal(cfg); err != nil {
		t.Fatal(err)
	}
	return cfg.(*Config), confmap.Validate(cfg)
}

func TestDefaultConfigListensOnLoopbackWithoutAToken(t *testing.T) {
	cfg, err := load(t, "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.NetAddr.Endpoint != insightsapi.DefaultEndpoint || cfg.AuthToken != "" {
		t.Errorf("endpoint %q token %q", cfg.NetAddr.Endpoint, cfg.AuthToken)
	}
	if cfg.WriteTimeout != 0 {
		t.Errorf("write_timeout = %v: a whole-response deadline would cut event streams", cfg.WriteTimeout)
	}
}

func TestConfigReadsEveryOption(t *testing.T) {
	cfg, err := load(t, "full")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.NetAddr.Endpoint != "0.0.0.0:7171" || cfg.AuthToken != "s3cret" || !cfg.TLS.HasValue() ||
		cfg.MaxEvents != 500 || cfg.MaxIncidents != 50 || cfg.ResolvedRetention != 10*time.Minute ||
		cfg.MaxProcesses != 200 || cfg.ProcessStaleAfter != 45*time.Second || cfg.StreamBuffer != 128 ||
		cfg.MaxStreamClients != 4 || cfg.Heartbeat != 5*time.Second || cfg.SelfMetricsEndpoint != "http://127.0.0.1:18888/metrics" {
		t.Errorf("config = %+v", cfg)
	}
}

func TestUnixSocketsNeedNoToken(t *testing.T) {
	for _, name := range []string{"unix", "unix_transport"} {
		cfg, err := load(t, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if a := cfg.netAddr(); a.Transport != confignet.TransportTypeUnix || a.Endpoint != "/run/linnix/insights.sock" {
			t.Errorf("%s: listens on %+v", name, a)
		}
	}
}

func TestLoopbackNamesNeedNoToken(t *testing.T) {
	for _, name := range []string{"ipv6_loopback", "localhost"} {
		if _, err := load(t, name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestNonLoopbackWithoutTokenIsRefusedNamingTheField(t *testing.T) {
	for _, name := range []string{"all_interfaces", "no_host", "public_ip"} {
		_, err := load(t, name)
		if err == nil || !strings.Contains(err.Error(), "auth_token: required when endpoint") {
			t.Errorf("%s: err = %v, want auth_token named", name, err)
		}
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	for name, wants := range map[string][]string{
		"bad_bounds": {"max_events: must be positive", "stream_buffer: must be positive", "heartbeat: must be a positive duration"},
		"bad_self":   {"self_metrics_endpoint: want an http(s) URL"},
		"udp":        {`transport: must be tcp, tcp4, tcp6 or unix, got "udp"`},
	} {
		_, err := load(t, name)
		for _, want := range wants {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: err = %v, want %q", name, err, want)
			}
		}
	}
}
