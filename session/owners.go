package session

import (
	"context"

	"github.com/voxgate/voxgate/store"
)

// Owners records which node a session's media runs on, when several nodes
// share the store (cluster mode). A session is owned from its creation to
// its end.
type Owners interface {
	// Own records that this node owns the new session.
	Own(ctx context.Context, sc store.Scope, sessionID string)
	// Disown forgets the owner of an ended session.
	Disown(ctx context.Context, sessionID string)
	// Elsewhere reports whether another alive node owns the session: only
	// that node knows whether its calls are idle.
	Elsewhere(ctx context.Context, sessionID string) bool
}

// SetOwners makes the manager report the sessions it creates and ends (nil:
// one node, nothing to report).
func (m *Manager) SetOwners(o Owners) { m.owners.Store(&o) }

func (m *Manager) own(ctx context.Context, sc store.Scope, sessionID string) {
	if o := m.owners.Load(); o != nil && *o != nil {
		(*o).Own(ctx, sc, sessionID)
	}
}

func (m *Manager) disown(ctx context.Context, sessionID string) {
	if o := m.owners.Load(); o != nil && *o != nil {
		(*o).Disown(ctx, sessionID)
	}
}

func (m *Manager) elsewhere(ctx context.Context, sessionID string) bool {
	o := m.owners.Load()
	return o != nil && *o != nil && (*o).Elsewhere(ctx, sessionID)
}
