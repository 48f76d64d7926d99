package bpf

// Limits of the kernel side, the numbers of enum limits in process.bpf.c.
// They live in this file, without a build tag, so that configuration code
// that builds on any platform validates against the same values the loader
// enforces; TestLimitsMatchBTF compares them with the compiled object.
const (
	// MaxArgvBytes is the most argument bytes the programs copy per exec
	// (ARGV_MAX_LEN, the size the verifier proves the copy within).
	MaxArgvBytes = 16384
	// DefaultArgvBytes is the argument cap when none is configured
	// (ARGV_DEFAULT_LEN).
	DefaultArgvBytes = 4096
	// DefaultRingBuffer is the ring buffer size in bytes when none is
	// configured (RING_BUFFER_DEFAULT).
	DefaultRingBuffer = 4 << 20
	// MinRingBuffer is the smallest ring buffer: one page (RING_BUFFER_MIN).
	MinRingBuffer = 4096
)
