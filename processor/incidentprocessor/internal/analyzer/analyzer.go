// Package analyzer holds incidents for their LLM analysis without ever
// blocking the pipeline: a bounded queue feeds a few workers, and every
// incident is emitted exactly once, with its analysis or at its deadline
// without it.
package analyzer

import (
	"context"
	"sync"
	"time"

	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/engine"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/llm"
)

// Emit sends one incident with the outcome of its analysis.
type Emit func(inc engine.Incident, out llm.Outcome)

// Asker is the LLM client.
type Asker interface {
	Analyze(ctx context.Context, facts []llm.Fact) llm.Outcome
}

// Analyzer is safe for concurrent use.
type Analyzer struct {
	asker   Asker
	maxWait time.Duration
	emit    Emit
	// observed is told of every finished analysis (for self-telemetry).
	observed func(llm.Outcome)
	queue    chan *job
	ctx      context.Context
	cancel   context.CancelFunc
	workers  sync.WaitGroup

	mu      sync.Mutex
	entries map[string]*entry // by incident id, until the incident resolves
	closed  bool
}

// entry is one incident's analysis: pending until its firing is emitted;
// repeats and the resolve that arrive meanwhile wait behind it, in order.
type entry struct {
	emitted bool
	outcome llm.Outcome
	waiting []engine.Incident
}

type job struct {
	inc      engine.Incident
	facts    []llm.Fact
	deadline time.Time
	once     sync.Once
	timer    *time.Timer
}

// New starts concurrency workers behind a queue of queueSize.
func New(asker Asker, maxWait time.Duration, concurrency, queueSize int, emit Emit, observed func(llm.Outcome)) *Analyzer {
	ctx, cancel := context.WithCancel(context.Background())
	a := &Analyzer{
		asker: asker, maxWait: maxWait, emit: emit, observed: observed,
		queue: make(chan *job, queueSize), ctx: ctx, cancel: cancel,
		entries: map[string]*entry{},
	}
	for i := 0; i < concurrency; i++ {
		a.workers.Add(1)
		go a.work()
	}
	return a
}

// Handle takes an incident the engine decided to emit. A new firing is
// queued for analysis (or emitted at once, skipped, when the queue is
// full); a repeat or a resolve reuses its firing's outcome.
func (a *Analyzer) Handle(inc engine.Incident, facts func() []llm.Fact) {
	a.mu.Lock()
	if inc.State == engine.Firing && !inc.Repeat {
		if a.closed {
			a.mu.Unlock()
			a.emit(inc, skipped("shutdown"))
			return
		}
		if len(a.entries) >= maxEntries {
			a.forgetEmitted()
		}
		a.entries[inc.ID] = &entry{}
		j := &job{inc: inc, facts: facts(), deadline: time.Now().Add(a.maxWait)}
		// The timer is set under a.mu, which finish takes before reading it.
		j.timer = time.AfterFunc(a.maxWait, func() { a.finish(j, llm.Outcome{Status: llm.StatusTimeout, Reason: "max_wait"}) })
		select {
		case a.queue <- j:
			a.mu.Unlock()
		default:
			a.mu.Unlock()
			a.finish(j, skipped("queue_full"))
		}
		return
	}
	e, ok := a.entries[inc.ID]
	switch {
	case !ok:
		a.mu.Unlock()
		a.emit(inc, skipped("not_analysed"))
		return
	case !e.emitted:
		e.waiting = append(e.waiting, inc)
		a.mu.Unlock()
		return
	}
	if inc.State == engine.Resolved {
		delete(a.entries, inc.ID)
	}
	out := e.outcome
	a.mu.Unlock()
	a.emit(inc, out)
}

// maxEntries bounds the outcomes kept for repeats and resolves of incidents
// that never resolve (their state was evicted): past it, emitted ones go.
const maxEntries = 4096

func (a *Analyzer) forgetEmitted() {
	for id, e := range a.entries {
		if e.emitted {
			delete(a.entries, id)
		}
	}
}

func skipped(reason string) llm.Outcome {
	return llm.Outcome{Status: llm.StatusSkipped, Reason: reason}
}

func (a *Analyzer) work() {
	defer a.workers.Done()
	for j := range a.queue {
		if a.ctx.Err() != nil {
			a.finish(j, skipped("shutdown"))
			continue
		}
		if !time.Now().Before(j.deadline) {
			continue // its timer emitted it without analysis
		}
		ctx, cancel := context.WithDeadline(a.ctx, j.deadline)
		out := a.asker.Analyze(ctx, j.facts)
		cancel()
		if a.observed != nil {
			a.observed(out)
		}
		a.finish(j, out)
	}
}

// finish emits the firing once, then, in order, whatever waited behind it;
// the entry counts as emitted only once nothing waits, so a resolve handled
// meanwhile queues up rather than overtaking. An answer that comes after the
// deadline still serves the repeats and the resolve.
func (a *Analyzer) finish(j *job, out llm.Outcome) {
	j.once.Do(func() {
		a.mu.Lock()
		if j.timer != nil {
			j.timer.Stop()
		}
		e := a.entries[j.inc.ID]
		if e != nil {
			e.outcome = out
		}
		a.mu.Unlock()
		a.emit(j.inc, out)
		for e != nil {
			a.mu.Lock()
			if len(e.waiting) == 0 {
				e.emitted = true
				a.mu.Unlock()
				break
			}
			w := e.waiting[0]
			e.waiting = e.waiting[1:]
			if w.State == engine.Resolved {
				delete(a.entries, w.ID)
			}
			a.mu.Unlock()
			a.emit(w, out)
		}
	})
	if out.Status == llm.StatusOK || out.Status == llm.StatusRejected {
		a.mu.Lock()
		if e := a.entries[j.inc.ID]; e != nil && e.outcome.Status == llm.StatusTimeout {
			e.outcome = out
		}
		a.mu.Unlock()
	}
}

// Shutdown emits every held incident at once and stops the workers.
func (a *Analyzer) Shutdown() {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	a.cancel()
	close(a.queue)
	for j := range a.queue {
		a.finish(j, skipped("shutdown"))
	}
	a.workers.Wait()
}
