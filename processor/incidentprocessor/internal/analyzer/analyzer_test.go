package analyzer

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/engine"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/llm"
)

// blockingAsker answers only when released (or when its context ends).
type blockingAsker struct {
	release chan struct{}
	calls   sync.WaitGroup
}

func (b *blockingAsker) Analyze(ctx context.Context, _ []llm.Fact) llm.Outcome {
	select {
	case <-b.release:
		return llm.Outcome{Status: llm.StatusOK, Analysis: &llm.Analysis{Class: "cpu_spin"}}
	case <-ctx.Done():
		return llm.Outcome{Status: llm.StatusTimeout, Reason: "max_wait"}
	}
}

type emitted struct {
	mu   sync.Mutex
	list []string // "id/state/status"
}

func (e *emitted) emit(inc engine.Incident, out llm.Outcome) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, inc.ID+"/"+string(inc.State)+"/"+out.Status+"/"+out.Reason)
}

func (e *emitted) get() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.list...)
}

func firing(id string) engine.Incident { return engine.Incident{ID: id, State: engine.Firing} }
func noFacts() []llm.Fact              { return []llm.Fact{{ID: "f1", Text: "x"}} }

func TestFullQueueEmitsAtOnceWithoutAnalysis(t *testing.T) {
	asker := &blockingAsker{release: make(chan struct{})}
	var out emitted
	a := New(asker, time.Hour, 1, 1, out.emit, nil)
	a.Handle(firing("a"), noFacts) // taken by the worker
	require.Eventually(t, func() bool { return len(a.queue) == 0 }, time.Second, time.Millisecond)
	a.Handle(firing("b"), noFacts) // waits in the queue
	a.Handle(firing("c"), noFacts) // queue full
	assert.Equal(t, []string{"c/firing/skipped/queue_full"}, out.get())
	close(asker.release)
	require.Eventually(t, func() bool { return len(out.get()) == 3 }, time.Second, time.Millisecond)
	a.Shutdown()
	assert.ElementsMatch(t, []string{"c/firing/skipped/queue_full", "a/firing/ok/", "b/firing/ok/"}, out.get())
}

func TestShutdownEmitsEverythingHeldOnce(t *testing.T) {
	asker := &blockingAsker{release: make(chan struct{})}
	var out emitted
	a := New(asker, time.Hour, 1, 8, out.emit, nil)
	a.Handle(firing("a"), noFacts)
	require.Eventually(t, func() bool { return len(a.queue) == 0 }, time.Second, time.Millisecond)
	a.Handle(firing("b"), noFacts)
	a.Handle(engine.Incident{ID: "b", State: engine.Resolved}, nil) // waits behind b
	a.Shutdown()
	got := out.get()
	require.Len(t, got, 3, "every held incident, once: %v", got)
	assert.Contains(t, got, "a/firing/timeout/max_wait", "the in-flight request is cancelled")
	assert.Less(t, slices.Index(got, "b/firing/skipped/shutdown"), slices.Index(got, "b/resolved/skipped/shutdown"), "firing before its resolve: %v", got)
	assert.NotEqual(t, -1, slices.Index(got, "b/firing/skipped/shutdown"))
	a.Handle(firing("d"), noFacts)
	assert.Equal(t, "d/firing/skipped/shutdown", out.get()[3], "after shutdown nothing is held")
}

func TestDeadlineEmitsWithoutAnswerAndLateAnswerServesTheResolve(t *testing.T) {
	asker := &blockingAsker{release: make(chan struct{})}
	var out emitted
	a := New(asker, 50*time.Millisecond, 1, 8, out.emit, nil)
	defer a.Shutdown()
	a.Handle(firing("a"), noFacts)
	require.Eventually(t, func() bool { return len(out.get()) == 1 }, time.Second, time.Millisecond)
	assert.Equal(t, "a/firing/timeout/max_wait", out.get()[0])
	a.Handle(engine.Incident{ID: "a", State: engine.Resolved}, nil)
	assert.Equal(t, "a/resolved/timeout/max_wait", out.get()[1], "the resolve reuses the firing's outcome")
}
