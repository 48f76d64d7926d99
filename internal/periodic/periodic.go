// Package periodic runs work on a clock: the receiver's collections and
// the processor's rule evaluations both need a loop that ticks until the
// component shuts down, and nothing more.
package periodic

import (
	"context"
	"time"
)

// Run calls fn every interval until ctx ends; it returns then. A call that
// outlasts the interval delays the next one rather than piling up behind
// it (time.Ticker drops missed ticks).
func Run(ctx context.Context, interval time.Duration, fn func(context.Context)) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		// select picks at random between a tick and the end: never call fn
		// once the context has ended.
		if ctx.Err() != nil {
			return
		}
		fn(ctx)
	}
}
