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

// EndLost ends a session whose owner node was lost: its calls that had not
// ended end with hangup_cause node_lost (nothing is left to hang them up),
// then the session with end_reason node_lost.
func (m *Manager) EndLost(ctx context.Context, sc store.Scope, sessionID string) (Session, error) {
	calls, err := m.sessionCalls(ctx, sc, sessionID)
	if err != nil {
		return Session{}, err
	}
	for _, c := range calls {
		if !c.Status.Final() {
			if err := m.CallEnded(ctx, c.ID, CallEnded, string(EndNodeLost), 0); err != nil {
				return Session{}, err
			}
		}
	}
	return m.End(ctx, sc, sessionID, EndNodeLost)
}
