package session

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/voxgate/voxgate/id"
	"github.com/voxgate/voxgate/store"
)

// Metrics counts what the live sessions of a manager did; read it with
// Manager.Metrics for /metrics.
type Metrics struct {
	AudioDropped  uint64 // frames dropped from slow subscribers' queues
	SlowConsumers uint64 // subscribers closed for falling behind on events
	LiveSessions  int    // sessions with something connected on this node
	Subscribers   int    // connected subscribers
	Legs          int    // connected legs
}

type counters struct {
	audioDropped, slowConsumers atomic.Uint64
}

// Metrics returns a snapshot of the manager's counters.
func (m *Manager) Metrics() Metrics {
	out := Metrics{AudioDropped: m.metrics.audioDropped.Load(), SlowConsumers: m.metrics.slowConsumers.Load()}
	m.liveMu.Lock()
	lives := make([]*live, 0, len(m.lives))
	for _, l := range m.lives {
		lives = append(lives, l)
	}
	m.liveMu.Unlock()
	out.LiveSessions = len(lives)
	for _, l := range lives {
		l.mu.Lock()
		out.Subscribers += len(l.subs)
		out.Legs += len(l.legs)
		l.mu.Unlock()
	}
	return out
}

// Peek returns a session by ID whatever its scope, for clients that prove
// themselves with a stream token rather than an API key.
func (m *Manager) Peek(ctx context.Context, sessionID string) (Session, store.Scope, error) {
	s, sc, err := m.peek(ctx, sessionID)
	if err != nil {
		return Session{}, store.Scope{}, err
	}
	return s.Public(), sc, nil
}

// peek is Peek with the stored fields clients do not see.
func (m *Manager) peek(ctx context.Context, sessionID string) (*stored, store.Scope, error) {
	rec, err := m.store.Lookup(ctx, store.Sessions, sessionID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, store.Scope{}, ErrNotFound
	}
	if err != nil {
		return nil, store.Scope{}, err
	}
	s, err := decodeSession(rec)
	if err != nil {
		return nil, store.Scope{}, err
	}
	return s, rec.Scope, nil
}

// open returns the live part of a session, starting it if needed.
func (m *Manager) open(ctx context.Context, sessionID string) (*live, error) {
	m.liveMu.Lock()
	if l := m.lives[sessionID]; l != nil {
		m.liveMu.Unlock()
		return l, nil
	}
	m.liveMu.Unlock()
	s, sc, err := m.peek(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	if s.Ended() {
		return nil, ErrEnded
	}
	m.liveMu.Lock()
	if l := m.lives[sessionID]; l != nil {
		m.liveMu.Unlock()
		return l, nil
	}
	l := newLive(m, sessionID, sc, s.Mode)
	l.maxDuration = time.Duration(s.MaxDurationSecs) * time.Second
	l.setLanguages(deref(s.SourceLanguage), deref(s.TargetLanguage))
	l.start()
	m.lives[sessionID] = l
	m.liveMu.Unlock()
	// An End between the read above and the insert found no live session to
	// stop: read again, or this one would run on for a session that ended.
	if s, _, err := m.Peek(ctx, sessionID); err == nil && s.Ended() {
		m.liveMu.Lock()
		if m.lives[sessionID] == l {
			delete(m.lives, sessionID)
		}
		m.liveMu.Unlock()
		reason := EndExplicit
		if s.EndReason != nil {
			reason = *s.EndReason
		}
		l.stop(reason, nil)
		return nil, ErrEnded
	}
	return l, nil
}

// release forgets a live session nothing is connected to any more.
func (m *Manager) release(l *live) {
	m.liveMu.Lock()
	l.mu.Lock()
	empty := len(l.subs) == 0 && len(l.legs) == 0
	l.mu.Unlock()
	if empty && m.lives[l.id] == l {
		delete(m.lives, l.id)
	} else {
		empty = false
	}
	m.liveMu.Unlock()
	if empty {
		l.stop("", nil)
	}
}

// lookupLive returns the live session, or nil when none runs here.
func (m *Manager) lookupLive(sessionID string) *live {
	m.liveMu.Lock()
	defer m.liveMu.Unlock()
	return m.lives[sessionID]
}

// Subscribe connects a client to a session that has not ended.
func (m *Manager) Subscribe(ctx context.Context, sessionID string, o SubscribeOptions) (*Subscription, error) {
	for {
		l, err := m.open(ctx, sessionID)
		if err != nil {
			return nil, err
		}
		sub, err := l.subscribe(o)
		if errors.Is(err, ErrEnded) && !l.reasonIsEnd() {
			continue // released between open and subscribe: open again
		}
		return sub, err
	}
}

// reasonIsEnd reports whether the live session stopped because the session
// ended (rather than because everything disconnected).
func (l *live) reasonIsEnd() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reason != ""
}

// publish sends a stored event to the session's live subscribers.
// A stored session.error carries its code and message in its data; they are
// read once here, not by every subscriber.
func (m *Manager) publish(sessionID, typ string, data json.RawMessage) {
	l := m.lookupLive(sessionID)
	if l == nil {
		return
	}
	ev := Event{Type: typ, Data: data}
	if typ == "session.error" {
		var d struct{ Code, Message string }
		_ = json.Unmarshal(data, &d)
		ev.Code, ev.Message = d.Code, d.Message
	}
	l.broadcast(ev)
}

// stopLive ends the live part of an ended session.
func (m *Manager) stopLive(sessionID string, reason EndReason, data json.RawMessage) {
	m.liveMu.Lock()
	l := m.lives[sessionID]
	delete(m.lives, sessionID)
	m.liveMu.Unlock()
	if l != nil {
		l.stop(reason, data)
	}
}

// Emit records an event of a session in the outbox and sends it to the
// session's live subscribers, in that order (legs report call progress and
// DTMF through it). data is marshalled as the event's data object.
func (m *Manager) Emit(ctx context.Context, sessionID, typ string, data any) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return err
	}
	_, sc, err := m.Peek(ctx, sessionID)
	if err != nil {
		return err
	}
	err = m.store.Update(ctx, func(tx *store.Tx) error {
		return tx.AddEvent(store.Event{ID: id.New(id.Event), Scope: sc, Type: typ, SessionID: sessionID, Data: raw, Created: tx.Now()})
	})
	if err != nil {
		return err
	}
	m.publish(sessionID, typ, raw)
	return nil
}

// EndAll ends every session live on this node with the reason (shutdown at
// the end of a drain) and returns how many it ended.
func (m *Manager) EndAll(ctx context.Context, reason EndReason) int {
	m.liveMu.Lock()
	lives := make([]*live, 0, len(m.lives))
	for _, l := range m.lives {
		lives = append(lives, l)
	}
	m.liveMu.Unlock()
	n := 0
	for _, l := range lives {
		if _, err := m.End(ctx, l.scope, l.id, reason); err == nil {
			n++
		} else {
			m.log.Warn("session not ended at shutdown", zap.String("session_id", l.id), zap.Error(err))
		}
	}
	return n
}

// LiveCalls counts the call legs connected on this node (a drain waits for
// them to reach zero).
func (m *Manager) LiveCalls() int { return m.Metrics().Legs }
