package session

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/voxgate/voxgate/store"
)

// BotTarget is where a session's bot listens and how to speak to it (SPEC §4.3).
type BotTarget struct {
	SessionID string
	Scope     store.Scope
	// URL is the bot's ws:// or wss:// address; empty when the session has no bot.
	URL string
	// Protocol is "voxgate" or "twilio".
	Protocol string
	// AuthToken goes to the bot as "Authorization: Bearer …" when set.
	AuthToken string
	// Metadata is the session's metadata (a JSON object or null).
	Metadata json.RawMessage
}

// BotDialer connects sessions to their bots. StartBot must return at once
// and do nothing for a session whose bot is already connected or being
// dialed; botlink.Supervisor is one.
type BotDialer interface {
	StartBot(sessionID string)
}

// SetBotDialer registers what connects sessions to their bots: from then
// on a session with a stream_url gets its bot when its first call leg is
// answered, or when it is created without routing.
func (m *Manager) SetBotDialer(b BotDialer) { m.bots.Store(&b) }

// startBot asks the bot dialer, if any, to connect the session's bot.
func (m *Manager) startBot(sessionID string) {
	if b := m.bots.Load(); b != nil {
		(*b).StartBot(sessionID)
	}
}

// Bot returns the bot of a session that has not ended (URL empty when it
// has none); ErrEnded once it has ended.
func (m *Manager) Bot(ctx context.Context, sessionID string) (BotTarget, error) {
	rec, err := m.store.Lookup(ctx, store.Sessions, sessionID)
	if errors.Is(err, store.ErrNotFound) {
		return BotTarget{}, ErrNotFound
	}
	if err != nil {
		return BotTarget{}, err
	}
	s, err := decodeSession(rec)
	if err != nil {
		return BotTarget{}, err
	}
	if s.Ended() {
		return BotTarget{}, ErrEnded
	}
	t := BotTarget{SessionID: sessionID, Scope: rec.Scope, AuthToken: s.BotAuthToken, Metadata: s.Metadata, Protocol: "voxgate"}
	if s.BotStreamURL != nil {
		t.URL = *s.BotStreamURL
	}
	if s.BotProtocol != nil && *s.BotProtocol != "" {
		t.Protocol = *s.BotProtocol
	}
	return t, nil
}
