package session

import (
	"context"
	"fmt"

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
	// Elsewhere reports whether another alive node owns the session (only
	// that node knows whether its calls are idle), and that node's SIP host
	// ("" when not known).
	Elsewhere(ctx context.Context, sessionID string) (sipHost string, ok bool)
}

// MovedError means a session's media runs on another node (cluster mode):
// a SIP call for it is redirected there.
type MovedError struct {
	SessionID string
	SIPHost   string // host[:port] of the owner's SIP
}

func (e *MovedError) Error() string {
	return fmt.Sprintf("session: %s runs on the node at %s", e.SessionID, e.SIPHost)
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
	if o == nil || *o == nil {
		return false
	}
	_, ok := (*o).Elsewhere(ctx, sessionID)
	return ok
}

// here returns sessionID when a call for it belongs on this node, else a
// *MovedError naming the owner.
func (m *Manager) here(ctx context.Context, sessionID string) (string, error) {
	if o := m.owners.Load(); o != nil && *o != nil {
		if host, ok := (*o).Elsewhere(ctx, sessionID); ok && host != "" {
			return "", &MovedError{SessionID: sessionID, SIPHost: host}
		}
	}
	return sessionID, nil
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
