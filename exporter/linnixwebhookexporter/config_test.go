package linnixwebhookexporter

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/linnix-os/otelcol-linnix/exporter/linnixwebhookexporter/internal/metadata"
)

func load(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	id := component.MustNewIDWithName(metadata.Type.String(), name)
	if name == "" {
		id = component.NewID(metadata.Type)
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

func TestConfigDefaultsNeedOnlyAURL(t *testing.T) {
	cfg, err := load(t, "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SignatureHeader != "X-Linnix-Signature" || cfg.TimestampHeader != "X-Linnix-Timestamp" {
		t.Errorf("headers = %q %q", cfg.SignatureHeader, cfg.TimestampHeader)
	}
	if q := cfg.QueueConfig.Get(); q == nil || q.NumConsumers != 1 {
		t.Errorf("the default queue must have one consumer so a resolve never overtakes its trigger: %+v", q)
	}
}

func TestConfigReadsEveryOption(t *testing.T) {
	cfg, err := load(t, "full")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Secret != "s3cret" || cfg.MinSeverity != "warning" || len(cfg.Rules.Include) != 2 ||
		len(cfg.ClientConfig.Headers) != 1 || cfg.ClientConfig.Timeout != 5*time.Second ||
		cfg.QueueConfig.Get().StorageID == nil || cfg.RetryConfig.MaxElapsedTime != time.Hour {
		t.Errorf("config = %+v", cfg)
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	for name, want := range map[string]string{
		"no_url":       "url: required",
		"bad_severity": `min_severity: unknown severity "urgent"`,
	} {
		if _, err := load(t, name); err == nil || !contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", name, err, want)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
