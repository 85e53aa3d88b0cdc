// Package sessionrun runs one goroutine per session for the supervisors
// that attach something to live sessions (a bot connection, an agent's
// brain), and stops them all together.
package sessionrun

import (
	"context"
	"sync"
)

// Group runs at most one function per session at a time. A running
// function may publish a value of type V (its handle) for others to find.
type Group[V any] struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	running map[string]V // zero while the function has published nothing
}

// NewGroup returns an empty group.
func NewGroup[V any]() *Group[V] {
	ctx, cancel := context.WithCancel(context.Background())
	return &Group[V]{ctx: ctx, cancel: cancel, running: map[string]V{}}
}

// Go starts fn for the session unless a function runs for it already or the
// group is closed, and reports whether it did. fn's context ends at Close.
func (g *Group[V]) Go(sessionID string, fn func(ctx context.Context)) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.running[sessionID]; ok || g.ctx.Err() != nil {
		return false
	}
	var zero V
	g.running[sessionID] = zero
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		defer func() {
			g.mu.Lock()
			delete(g.running, sessionID)
			g.mu.Unlock()
		}()
		fn(g.ctx)
	}()
	return true
}

// Publish sets the value others find for the session while its function
// runs; it does nothing once the function has returned.
func (g *Group[V]) Publish(sessionID string, v V) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.running[sessionID]; ok {
		g.running[sessionID] = v
	}
}

// Get returns what the session's running function published (the zero
// value when nothing, or when none runs).
func (g *Group[V]) Get(sessionID string) V {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.running[sessionID]
}

// Len counts the sessions whose function runs.
func (g *Group[V]) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.running)
}

// Close cancels every function's context, stops new ones from starting, and
// waits for the running ones to return.
func (g *Group[V]) Close() {
	g.cancel()
	g.wg.Wait()
}
