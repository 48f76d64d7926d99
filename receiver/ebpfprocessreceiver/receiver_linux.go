package ebpfprocessreceiver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/linnix-os/otelcol-linnix/bpf"
	"github.com/linnix-os/otelcol-linnix/internal/contract"
	"github.com/linnix-os/otelcol-linnix/internal/periodic"
	"github.com/linnix-os/otelcol-linnix/internal/redact"
	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver/internal/memlimit"
	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver/internal/metadata"
	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver/internal/procfilter"
	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver/internal/proctable"
)

const (
	// queueBatches bounds the batches of decoded events waiting for
	// conversion. The kernel ring buffer is the main buffer; this queue lets
	// the reader keep draining it while a batch is converted or consumed.
	queueBatches = 32
	// maxBatch bounds the records of one batch and ConsumeLogs call.
	maxBatch = 1024
	// wakeupFraction: the kernel side wakes the reader when the ring is
	// this fraction full, long before it could overflow.
	wakeupFraction = 8
	// idleDrain bounds the reader's sleep once the ring was found empty a
	// batch interval after a wakeup: any later record wakes it, so this
	// only collects a record whose write raced with that last look.
	idleDrain = time.Second
	// limitTTL: memory limits named on OOM exits are re-read after this.
	limitTTL = 10 * time.Second
)

type ebpfReceiver struct {
	cfg     *Config
	set     receiver.Settings
	logs    consumer.Logs
	metrics consumer.Metrics

	telemetry *metadata.TelemetryBuilder
	probe     *bpf.Probe
	queue     chan []bpf.Event
	// free returns converted batches to the reader for reuse.
	free chan []bpf.Event
	lc   *lifecycle
	// clock converts the records' boot-time stamps; clockAt is when it
	// was measured. Only the goroutine that converts uses them.
	clock     wallClock
	clockAt   time.Time
	coll      *collector
	cancel    context.CancelFunc
	stopColl  context.CancelFunc
	readDone  chan struct{}
	done      chan struct{}
	collected chan struct{}

	readErrors, decodeErrors, queueFull, refused atomic.Int64
	// events counts the records read, by type, for an observable counter:
	// a synchronous Add per batch cost more CPU than converting a small
	// batch did in a spawn storm.
	events [bpf.EventExit + 1]atomic.Int64
}

func newReceiver(set receiver.Settings, cfg *Config) *ebpfReceiver {
	return &ebpfReceiver{cfg: cfg, set: set}
}

// Start loads the BPF programs. The factory shares one receiver between the
// pipelines of a component ID and starts it once.
func (r *ebpfReceiver) Start(_ context.Context, _ component.Host) error {
	filter, err := procfilter.New(criteria(r.cfg.Include), criteria(r.cfg.Exclude))
	if err != nil {
		return err
	}
	host, err := os.Hostname()
	if err != nil {
		return fmt.Errorf("reading host name: %w", err)
	}
	redactor, err := redact.New(r.cfg.Redaction)
	if err != nil {
		return fmt.Errorf("redaction: %w", err)
	}
	r.lc = &lifecycle{
		table:    proctable.New(),
		filter:   filter,
		argsMode: r.cfg.CommandArgs,
		redactor: redactor,
		hostName: host,
		version:  r.set.BuildInfo.Version,
		limits:   memlimit.NewCgroups("/", limitTTL),
		born:     newWallClock(),
		exited:   map[uint32]uint64{},
		created:  map[uint64]string{},
	}
	r.telemetry, err = metadata.NewTelemetryBuilder(r.set.TelemetrySettings)
	if err != nil {
		return err
	}

	r.probe, err = bpf.Open(bpf.Options{
		RingBufferSize: uint32(r.cfg.RingBufferSize),
		ArgvMaxBytes:   uint32(r.cfg.CommandArgsMaxSize),
		IncludeThreads: r.cfg.IncludeThreads,
		WakeupBytes:    uint32(r.cfg.RingBufferSize / wakeupFraction),
		WakeupInterval: r.cfg.batchInterval(),
	})
	if err != nil {
		return fmt.Errorf("ebpfprocess receiver: %w", err)
	}
	if err := errors.Join(
		r.telemetry.RegisterLinnixReceiverEventsCallback(r.observeEvents),
		r.telemetry.RegisterLinnixReceiverEventsLostCallback(r.observeLosses),
		r.telemetry.RegisterLinnixReceiverProcessesTrackedCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(int64(r.lc.table.Len()))
			return nil
		}),
	); err != nil {
		_ = r.probe.Close()
		r.probe = nil // nothing runs: Shutdown has nothing to stop
		return err
	}
	if r.metrics != nil {
		r.coll = newCollector(r.cfg, r.set, r.probe, r.lc.table, filter, host, r.lc.born)
		r.lc.metrics = r.coll
	}

	if !r.probe.OOMMarks {
		r.set.Logger.Info("This kernel's mark_victim tracepoint does not pass the victim's task: exit records of OOM kills carry no linnix.oom.* attributes")
	}
	// Drain the ring from now on; the snapshot below fills the table before
	// any queued event is converted, so events win over the snapshot.
	r.queue = make(chan []bpf.Event, queueBatches)
	r.free = make(chan []bpf.Event, queueBatches+2)
	r.readDone = make(chan struct{})
	go r.readLoop()
	r.snapshot()

	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.done = make(chan struct{})
	go r.consumeLoop(ctx)
	if r.coll != nil {
		// A first sample gives the first collection rates to report.
		if _, err := r.coll.collect(); err != nil {
			r.set.Logger.Warn("First task sample failed", zap.Error(err))
		}
		r.collected = make(chan struct{})
		collCtx, stop := context.WithCancel(context.Background())
		r.stopColl = stop
		go r.collectLoop(collCtx)
	}
	return nil
}

// collectLoop samples every task each collection_interval.
func (r *ebpfReceiver) collectLoop(ctx context.Context) {
	defer close(r.collected)
	periodic.Run(ctx, r.cfg.CollectionInterval, r.collectOnce)
}

func (r *ebpfReceiver) collectOnce(ctx context.Context) {
	began := time.Now()
	md, err := r.coll.collect()
	r.telemetry.LinnixReceiverScanDuration.Record(ctx, time.Since(began).Seconds())
	if err != nil {
		r.set.Logger.Warn("Sampling tasks failed", zap.Error(err))
		return
	}
	if r.coll.over > 0 {
		r.set.Logger.Warn("More processes exited since the last collection than it reports; their CPU time is in their exit records only",
			zap.Int("reported", maxExited), zap.Int("not_reported", r.coll.over))
	}
	if err := r.metrics.ConsumeMetrics(ctx, md); err != nil {
		r.set.Logger.Warn("Downstream refused process metrics", zap.Int("data_points", md.DataPointCount()), zap.Error(err))
	}
}

func criteria(m MatchConfig) procfilter.Criteria {
	return procfilter.Criteria{Executables: m.Executables, UIDs: m.UIDs, Cgroups: m.Cgroups}
}

// readLoop only decodes and queues: it must keep pace with the kernel, so a
// full queue drops (and counts) rather than waits. The kernel side wakes it
// for the first record after a quiet batch_interval and when the ring fills
// past a threshold; the records in between it collects a batch_interval
// later, so that one wakeup and one conversion serve many records. Once a
// timed collection finds nothing, it sleeps until the next wakeup (or
// idleDrain): an idle host costs one look a second. A batch is handed on
// when the ring is empty or it is full.
func (r *ebpfReceiver) readLoop() {
	defer close(r.readDone)
	defer close(r.queue)
	interval := r.cfg.batchInterval()
	batch := r.slab()
	var dec bpf.Decoder
	read, timedOut := 0, false
	for {
		raw, err := r.probe.ReadRaw()
		if err == nil {
			read++
			batch = append(batch, bpf.Event{})
			if err := dec.Decode(raw, &batch[len(batch)-1]); err != nil {
				r.decodeErrors.Add(1)
				batch = batch[:len(batch)-1]
			} else if len(batch) >= maxBatch {
				batch = r.hand(batch)
			}
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// The ring is drained: hand the batch on and sleep until
			// the kernel wakes the reader or the timer ends.
			batch = r.hand(batch)
			wait := interval
			if timedOut && read == 0 {
				wait = idleDrain
			}
			err = r.probe.Wait(time.Now().Add(wait))
			read, timedOut = 0, errors.Is(err, os.ErrDeadlineExceeded)
			if err == nil || timedOut {
				continue
			}
		}
		if errors.Is(err, os.ErrClosed) {
			r.hand(batch)
			return
		}
		r.readErrors.Add(1)
		r.set.Logger.Warn("Reading the BPF ring buffer failed", zap.Error(err))
		time.Sleep(10 * time.Millisecond) // do not spin on a persistent error
	}
}

// hand queues a batch for conversion and returns the slice to fill next.
// When the queue is full, a batch keeps growing until maxBatch; only then
// is it dropped, and counted.
func (r *ebpfReceiver) hand(batch []bpf.Event) []bpf.Event {
	if len(batch) == 0 {
		return batch
	}
	select {
	case r.queue <- batch:
		return r.slab()
	default:
	}
	if len(batch) < maxBatch {
		return batch
	}
	r.queueFull.Add(int64(len(batch)))
	return batch[:0]
}

// slab returns an empty batch, reusing a converted one when there is one.
func (r *ebpfReceiver) slab() []bpf.Event {
	select {
	case b := <-r.free:
		return b[:0]
	default:
		return make([]bpf.Event, 0, 64)
	}
}

// consumeLoop converts each queued batch into one ConsumeLogs call.
func (r *ebpfReceiver) consumeLoop(ctx context.Context) {
	defer close(r.done)
	for batch := range r.queue {
		r.consume(ctx, batch)
		// The conversion copied what it keeps; drop the strings the
		// events hold before the slab waits for reuse.
		clear(batch)
		select {
		case r.free <- batch[:0]:
		default:
		}
	}
}

func (r *ebpfReceiver) consume(ctx context.Context, batch []bpf.Event) {
	r.countEvents(batch)
	if r.logs == nil {
		r.lc.trackAll(batch)
		return
	}
	ld, n := r.lc.toLogs(batch, r.wallClock())
	if n == 0 {
		return
	}
	if err := r.logs.ConsumeLogs(ctx, ld); err != nil {
		r.refused.Add(int64(n))
		r.set.Logger.Warn("Downstream refused lifecycle records", zap.Int("records", n), zap.Error(err))
	}
}

// wallClock re-measures the boot-time to wall-clock offset once a second:
// it moves only when the clock is adjusted, and measuring it takes system
// calls, which per batch cost more than converting a small batch does.
func (r *ebpfReceiver) wallClock() wallClock {
	if now := time.Now(); now.Sub(r.clockAt) >= time.Second {
		r.clock, r.clockAt = newWallClock(), now
	}
	return r.clock
}

var eventTypeAttrs = [...]metric.MeasurementOption{
	bpf.EventFork: metric.WithAttributeSet(attribute.NewSet(attribute.String("type", "fork"))),
	bpf.EventExec: metric.WithAttributeSet(attribute.NewSet(attribute.String("type", "exec"))),
	bpf.EventExit: metric.WithAttributeSet(attribute.NewSet(attribute.String("type", "exit"))),
}

func (r *ebpfReceiver) countEvents(batch []bpf.Event) {
	var n [len(eventTypeAttrs)]int64
	for i := range batch {
		n[batch[i].Type]++
	}
	for t := bpf.EventFork; t <= bpf.EventExit; t++ {
		if n[t] > 0 {
			r.events[t].Add(n[t])
		}
	}
}

func (r *ebpfReceiver) observeEvents(_ context.Context, o metric.Int64Observer) error {
	for t := bpf.EventFork; t <= bpf.EventExit; t++ {
		o.Observe(r.events[t].Load(), eventTypeAttrs[t])
	}
	return nil
}

func (r *ebpfReceiver) observeLosses(_ context.Context, o metric.Int64Observer) error {
	kernel, err := r.probe.Losses()
	if err != nil {
		return err
	}
	for _, l := range []struct {
		reason string
		n      int64
	}{
		{contract.LostRingFull, int64(kernel.RingFull)},
		{contract.LostKernelRecursion, int64(kernel.Recursion)},
		{contract.LostReadError, r.readErrors.Load()},
		{contract.LostDecodeError, r.decodeErrors.Load()},
		{contract.LostQueueFull, r.queueFull.Load()},
		{contract.LostDownstreamRefused, r.refused.Load()},
	} {
		o.Observe(l.n, metric.WithAttributes(attribute.String("reason", l.reason)))
	}
	return nil
}

// Shutdown detaches the programs, converts what was already read, and
// releases the kernel objects.
func (r *ebpfReceiver) Shutdown(ctx context.Context) error {
	if r.probe == nil {
		return nil
	}
	if r.collected != nil {
		r.stopColl()
		<-r.collected
	}
	err := r.probe.Close()
	select {
	case <-r.done:
	case <-ctx.Done():
		r.cancel()
		<-r.done
	}
	r.cancel()
	r.telemetry.Shutdown()
	return err
}
