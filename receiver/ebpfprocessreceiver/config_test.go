package ebpfprocessreceiver

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/linnix-os/otelcol-linnix/internal/redact"
	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	load := func(t *testing.T, name string) (*Config, error) {
		t.Helper()
		cfg := NewFactory().CreateDefaultConfig().(*Config)
		sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
		require.NoError(t, err)
		if err := sub.Unmarshal(cfg); err != nil {
			return nil, err
		}
		return cfg, confmap.Validate(cfg)
	}

	t.Run("defaults", func(t *testing.T) {
		cfg, err := load(t, "")
		require.NoError(t, err)
		assert.Equal(t, createDefaultConfig(), cfg)
		assert.EqualValues(t, 4<<20, cfg.RingBufferSize)
		assert.Equal(t, CommandArgsRedact, cfg.CommandArgs)
		assert.EqualValues(t, 4096, cfg.CommandArgsMaxSize)
		assert.Equal(t, 10*time.Second, cfg.CollectionInterval)
		assert.Equal(t, 50, cfg.TopN)
		assert.Equal(t, 20*time.Millisecond, cfg.batchInterval(), "unset means 20ms")
	})

	t.Run("custom", func(t *testing.T) {
		cfg, err := load(t, "custom")
		require.NoError(t, err)
		assert.EqualValues(t, 16<<20, cfg.RingBufferSize)
		assert.Equal(t, CommandArgsFull, cfg.CommandArgs)
		assert.EqualValues(t, 8192, cfg.CommandArgsMaxSize)
		assert.True(t, cfg.IncludeThreads)
		assert.Equal(t, 50*time.Millisecond, cfg.batchInterval())
		assert.Equal(t, MatchConfig{
			Executables: []string{"^python", "^java$"},
			UIDs:        []uint32{1000, 1001},
			Cgroups:     []string{"/kubepods"},
		}, cfg.Include)
		assert.Equal(t, MatchConfig{Cgroups: []string{"/system.slice"}}, cfg.Exclude)
		assert.Equal(t, 2*time.Second, cfg.CollectionInterval)
		assert.Zero(t, cfg.TopN)
		assert.InDelta(t, 0.05, cfg.MinCPUUtilization, 1e-9)
		assert.EqualValues(t, 64<<20, cfg.MinMemoryBytes)
		assert.False(t, cfg.Metrics.ProcessPagingFaults.Enabled)
		assert.True(t, cfg.Metrics.ProcessCPUTime.Enabled)
		assert.False(t, cfg.ResourceAttributes.ProcessOwner.Enabled)
	})

	t.Run("redaction", func(t *testing.T) {
		cfg, err := load(t, "redaction")
		require.NoError(t, err)
		require.Len(t, cfg.Redaction.Rules, 3)
		assert.Equal(t, "-k", cfg.Redaction.Rules[0].Flag)
		assert.Equal(t, []string{"push"}, cfg.Redaction.Rules[1].Subcommand)
		assert.Equal(t, 2, cfg.Redaction.Rules[1].Position)
		r, err := redact.New(cfg.Redaction)
		require.NoError(t, err)
		assert.Equal(t,
			[]string{"mytool", "-k", "***", "deploy", "acme_***"},
			r.Args([]string{"mytool", "-k", "v4lue", "deploy", "acme_0123456789abcdef"}))
		assert.Equal(t, []string{"deploy", "push", "prod", "***"}, r.Args([]string{"deploy", "push", "prod", "s3cret"}))
	})

	t.Run("bad_redaction_names_each_rule", func(t *testing.T) {
		_, err := load(t, "bad_redaction")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "redaction::rules[1]: one of flag, position or pattern is required")
		assert.NotContains(t, err.Error(), "rules[0]")
	})

	for name, want := range map[string]string{
		"bad_ring":           "ring_buffer_size: must be a power of two",
		"bad_batch_interval": "batch_interval: must be between 0 (the default, 20ms) and 1s, got 2s",
		"bad_args":           `command_args: must be one of redact, full, off, got "everything"`,
		"bad_argv_cap":       "command_args_max_size: must be between 1 and 16384 bytes, got 32768",
		"bad_regexp":         "include.executables[1]: error parsing regexp",
		"bad_cgroup":         `exclude.cgroups[0]: "kubepods" must be an absolute cgroup path`,
		"bad_size_text":      `invalid size "8 megabytes"`,
		"bad_interval":       "collection_interval: must be at least 100ms, got 10ms",
		"bad_top_n":          "top_n: must be 0 (every process) or more, got -1",
		"bad_floor":          "min_cpu_utilization: must not be negative, got -0.5",
		"bad_redaction":      "redaction::rules[2]: pattern: error parsing regexp",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := load(t, name)
			require.Error(t, err)
			assert.Contains(t, err.Error(), want)
		})
	}
}

func TestByteSize(t *testing.T) {
	for in, want := range map[string]ByteSize{"4096": 4096, "64KiB": 64 << 10, "8 MiB": 8 << 20, "1GiB": 1 << 30} {
		var b ByteSize
		require.NoError(t, b.UnmarshalText([]byte(in)), in)
		assert.Equal(t, want, b, in)
	}
	for _, in := range []string{"", "1.5MiB", "-1", "8MB", "99999999999GiB"} {
		var b ByteSize
		assert.Error(t, b.UnmarshalText([]byte(in)), in)
	}
}
