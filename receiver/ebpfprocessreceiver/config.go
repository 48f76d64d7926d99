package ebpfprocessreceiver

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/linnix-os/otelcol-linnix/bpf"
	"github.com/linnix-os/otelcol-linnix/internal/redact"
	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver/internal/metadata"
)

// CommandArgsMode says how much of a command line leaves the host.
type CommandArgsMode string

const (
	// CommandArgsRedact masks values of secret-looking flags and variables.
	CommandArgsRedact CommandArgsMode = "redact"
	// CommandArgsFull exports arguments as the process received them.
	CommandArgsFull CommandArgsMode = "full"
	// CommandArgsOff exports no arguments at all.
	CommandArgsOff CommandArgsMode = "off"
)

// The kernel-side limits are bpf's (bpf/limits.go); these are the
// receiver's own.
const (
	maxRingBuffer = 1 << 30 // far beyond any need; guards against typos
	// defaultBatchInterval keeps a record's wait in the ring well under the
	// 50 ms the latency budget allows, at 50 idle wakeups a second.
	defaultBatchInterval = 20 * time.Millisecond
	maxBatchInterval     = time.Second
	defaultTopN          = 50
	minInterval          = 100 * time.Millisecond
)

// Config of the ebpfprocess receiver.
type Config struct {
	// RingBufferSize is the kernel ring buffer in bytes: a power of two, at
	// least one page. Accepts plain bytes or KiB/MiB/GiB suffixes.
	RingBufferSize ByteSize `mapstructure:"ring_buffer_size"`
	// CommandArgs is redact (default), full or off.
	CommandArgs CommandArgsMode `mapstructure:"command_args"`
	// CommandArgsMaxSize caps the argument bytes read per exec (1 B–16 KiB);
	// longer command lines are cut and flagged as truncated.
	CommandArgsMaxSize ByteSize `mapstructure:"command_args_max_size"`
	// Redaction adds rules to the built-in ones command_args: redact applies.
	Redaction redact.Config `mapstructure:"redaction"`
	// IncludeThreads also emits fork and exit records for threads.
	IncludeThreads bool `mapstructure:"include_threads"`
	// BatchInterval is the longest a lifecycle record waits in the ring
	// buffer: the reader is woken on this timer, or at once when the ring
	// is an eighth full, and hands records on in batches. 0 means 20ms.
	BatchInterval time.Duration `mapstructure:"batch_interval"`
	// Include keeps only matching processes; Exclude drops matching ones.
	Include MatchConfig `mapstructure:"include"`
	Exclude MatchConfig `mapstructure:"exclude"`

	// CollectionInterval is how often the metrics signal samples every task.
	CollectionInterval time.Duration `mapstructure:"collection_interval"`
	// TopN keeps the N processes using the most CPU and the N using the
	// most memory (their union); 0 reports every process.
	TopN int `mapstructure:"top_n"`
	// MinCPUUtilization drops processes below this CPU use, in cores (the
	// unit of linnix.process.cpu.cores: 0.05 is 5% of one core), unless
	// they reach MinMemoryBytes. 0 disables the floor.
	MinCPUUtilization float64 `mapstructure:"min_cpu_utilization"`
	// MinMemoryBytes drops processes with less resident memory, unless they
	// reach MinCPUUtilization. 0 disables the floor.
	MinMemoryBytes ByteSize `mapstructure:"min_memory_bytes"`

	metadata.MetricsBuilderConfig `mapstructure:",squash"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// batchInterval is BatchInterval with its default applied.
func (cfg *Config) batchInterval() time.Duration {
	if cfg.BatchInterval == 0 {
		return defaultBatchInterval
	}
	return cfg.BatchInterval
}

// MatchConfig selects processes. Within a list any entry matches; across
// lists every non-empty list must match.
type MatchConfig struct {
	// Executables are regular expressions on process.executable.name.
	Executables []string `mapstructure:"executables"`
	// UIDs are effective user ids.
	UIDs []uint32 `mapstructure:"uids"`
	// Cgroups are cgroup path prefixes, e.g. /kubepods or /system.slice/docker.
	Cgroups []string `mapstructure:"cgroups"`
}

// Validate reports every invalid field by its configuration name.
func (cfg *Config) Validate() error {
	var errs []error
	rb := uint64(cfg.RingBufferSize)
	if rb < bpf.MinRingBuffer || rb > maxRingBuffer || rb&(rb-1) != 0 {
		errs = append(errs, fmt.Errorf("ring_buffer_size: must be a power of two between %d and %d bytes, got %d",
			bpf.MinRingBuffer, maxRingBuffer, rb))
	}
	switch cfg.CommandArgs {
	case CommandArgsRedact, CommandArgsFull, CommandArgsOff:
	default:
		errs = append(errs, fmt.Errorf("command_args: must be one of redact, full, off, got %q", cfg.CommandArgs))
	}
	if cfg.CommandArgsMaxSize == 0 || cfg.CommandArgsMaxSize > bpf.MaxArgvBytes {
		errs = append(errs, fmt.Errorf("command_args_max_size: must be between 1 and %d bytes, got %d", bpf.MaxArgvBytes, cfg.CommandArgsMaxSize))
	}
	if cfg.BatchInterval < 0 || cfg.BatchInterval > maxBatchInterval {
		errs = append(errs, fmt.Errorf("batch_interval: must be between 0 (the default, %v) and %v, got %v", defaultBatchInterval, maxBatchInterval, cfg.BatchInterval))
	}
	errs = append(errs, cfg.Redaction.Check("redaction::"))
	errs = append(errs, cfg.Include.validate("include"), cfg.Exclude.validate("exclude"))
	if cfg.CollectionInterval < minInterval {
		errs = append(errs, fmt.Errorf("collection_interval: must be at least %v, got %v", minInterval, cfg.CollectionInterval))
	}
	if cfg.TopN < 0 {
		errs = append(errs, fmt.Errorf("top_n: must be 0 (every process) or more, got %d", cfg.TopN))
	}
	if cfg.MinCPUUtilization < 0 {
		errs = append(errs, fmt.Errorf("min_cpu_utilization: must not be negative, got %v", cfg.MinCPUUtilization))
	}
	return errors.Join(errs...)
}

func (m MatchConfig) validate(prefix string) error {
	var errs []error
	for i, re := range m.Executables {
		if _, err := regexp.Compile(re); err != nil {
			errs = append(errs, fmt.Errorf("%s.executables[%d]: %w", prefix, i, err))
		}
	}
	for i, p := range m.Cgroups {
		if !strings.HasPrefix(p, "/") {
			errs = append(errs, fmt.Errorf("%s.cgroups[%d]: %q must be an absolute cgroup path starting with /", prefix, i, p))
		}
	}
	return errors.Join(errs...)
}

// ByteSize is a size in bytes that also reads "64KiB", "8MiB" or "1GiB".
type ByteSize uint64

// UnmarshalText parses a plain integer or one with a KiB, MiB or GiB suffix.
func (b *ByteSize) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	mult := uint64(1)
	for _, u := range []struct {
		suffix string
		mult   uint64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v > (1<<63)/mult {
		return fmt.Errorf("invalid size %q: want bytes, or a number with KiB, MiB or GiB", string(text))
	}
	*b = ByteSize(v * mult)
	return nil
}
