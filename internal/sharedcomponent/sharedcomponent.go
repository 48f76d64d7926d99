// Package sharedcomponent gives one instance of a component per
// configuration, shared by every pipeline the component ID appears in, so
// that a receiver loads its BPF programs once and a processor keeps one
// state whether it sees logs, metrics or both. Start runs once, Shutdown
// runs once and releases the instance, so a restart builds a new one.
package sharedcomponent

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
)

// Lifecycle is what a shared component does once: start and shut down.
type Lifecycle interface {
	Start(ctx context.Context, host component.Host) error
	Shutdown(ctx context.Context) error
}

// Map holds the live instances by key (the component's *Config).
type Map[K comparable, V Lifecycle] struct {
	mu    sync.Mutex
	items map[K]*Component[V]
}

// LoadOrStore returns the instance of key, creating it with create when
// there is none.
func (m *Map[K, V]) LoadOrStore(key K, create func() (V, error)) (*Component[V], error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.items[key]; ok {
		return c, nil
	}
	v, err := create()
	if err != nil {
		return nil, err
	}
	c := &Component[V]{Value: v}
	c.release = func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.items, key)
	}
	if m.items == nil {
		m.items = map[K]*Component[V]{}
	}
	m.items[key] = c
	return c, nil
}

// Len is the number of live instances.
func (m *Map[K, V]) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.items)
}

// Component wraps one shared instance; every pipeline's component holds
// the same *Component and calls Start and Shutdown on it.
type Component[V Lifecycle] struct {
	Value V

	startOnce, stopOnce sync.Once
	startErr, stopErr   error
	release             func()
}

// Start starts the instance the first time it is called.
func (c *Component[V]) Start(ctx context.Context, host component.Host) error {
	c.startOnce.Do(func() { c.startErr = c.Value.Start(ctx, host) })
	return c.startErr
}

// Shutdown shuts the instance down the first time it is called and forgets
// it, so the next build of the pipelines creates a fresh one.
func (c *Component[V]) Shutdown(ctx context.Context) error {
	c.stopOnce.Do(func() {
		defer c.release()
		c.stopErr = c.Value.Shutdown(ctx)
	})
	return c.stopErr
}
