// Package botlink keeps each session connected to its bot (SPEC §4.3):
// it dials the bot when the session asks, redials a bot that dropped with
// backoff while the session lives, and reports a bot that does not answer
// as session.error bot_unreachable. The conversation itself (voxgate or
// Twilio protocol) is the stream package's.
package botlink

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/sessionrun"
	"github.com/voxgate/voxgate/stream"
)

// Sessions is what the supervisor needs from the session layer;
// *session.Manager satisfies it.
type Sessions interface {
	Bot(ctx context.Context, sessionID string) (session.BotTarget, error)
	Emit(ctx context.Context, sessionID, typ string, data any) error
}

// Connector runs one connection to a bot; *stream.Handler is one.
type Connector interface {
	RunBot(ctx context.Context, t session.BotTarget, connected func()) error
}

// Config tunes the supervisor. Zero values take the defaults on each field.
type Config struct {
	// MinBackoff is the wait before the first redial. Default 250ms.
	MinBackoff time.Duration
	// MaxBackoff caps the wait between redials, which doubles after each
	// failed dial. Default 5s.
	MaxBackoff time.Duration
	// UnreachableAfter is how many dials in a row must fail before the
	// session gets session.error bot_unreachable (once per outage). Default 3.
	UnreachableAfter int
}

func (c *Config) setDefaults() {
	if c.MinBackoff == 0 {
		c.MinBackoff = 250 * time.Millisecond
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 5 * time.Second
	}
	if c.UnreachableAfter == 0 {
		c.UnreachableAfter = 3
	}
}

// ErrCodeBotUnreachable is the session.error code of a bot that does not answer.
const ErrCodeBotUnreachable = "bot_unreachable"

// Supervisor connects sessions to their bots; it satisfies session.BotDialer.
type Supervisor struct {
	cfg      Config
	sessions Sessions
	conn     Connector
	log      *zap.Logger
	running  *sessionrun.Group[struct{}] // sessions whose bot loop runs
}

// New returns a supervisor; Close stops its bots.
func New(cfg Config, sessions Sessions, conn Connector, log *zap.Logger) *Supervisor {
	cfg.setDefaults()
	if log == nil {
		log = zap.NewNop()
	}
	return &Supervisor{cfg: cfg, sessions: sessions, conn: conn, log: log, running: sessionrun.NewGroup[struct{}]()}
}

// StartBot connects the session's bot unless it is already connected or
// being dialed; it returns at once.
func (s *Supervisor) StartBot(sessionID string) {
	s.running.Go(sessionID, func(ctx context.Context) { s.keep(ctx, sessionID) })
}

// Running reports how many sessions have a bot connected or being dialed.
func (s *Supervisor) Running() int { return s.running.Len() }

// Close disconnects every bot and waits for them.
func (s *Supervisor) Close() { s.running.Close() }

// keep holds a session's bot connected while the session lives.
func (s *Supervisor) keep(ctx context.Context, sessionID string) {
	log := s.log.With(zap.String("session_id", sessionID))
	failures, reported := 0, false
	for {
		t, err := s.sessions.Bot(ctx, sessionID)
		if err != nil || t.URL == "" {
			if err != nil && !errors.Is(err, session.ErrEnded) && !errors.Is(err, session.ErrNotFound) && ctx.Err() == nil {
				log.Warn("bot not dialed", zap.Error(err))
			}
			return
		}
		connected := false
		err = s.conn.RunBot(ctx, t, func() {
			connected = true
			log.Info("bot connected", zap.String("bot_url", t.URL), zap.String("protocol", t.Protocol))
		})
		if errors.Is(err, session.ErrEnded) || ctx.Err() != nil {
			return
		}
		if connected {
			failures, reported = 0, false
			log.Info("bot dropped; redialing", zap.Error(err))
		} else {
			failures++
			log.Info("bot dial failed", zap.Int("failures", failures), zap.Error(err))
			if failures >= s.cfg.UnreachableAfter && !reported {
				reported = true
				data := map[string]any{"session_id": sessionID, "code": ErrCodeBotUnreachable,
					"message": "the bot at stream_url did not answer: " + err.Error()}
				if err := s.sessions.Emit(ctx, sessionID, "session.error", data); err != nil && ctx.Err() == nil {
					log.Warn("bot_unreachable not reported", zap.Error(err))
				}
			}
		}
		select {
		case <-time.After(s.backoff(failures)):
		case <-ctx.Done():
			return
		}
	}
}

// backoff is the wait before the next dial after failures failed dials in a row.
func (s *Supervisor) backoff(failures int) time.Duration {
	d := s.cfg.MinBackoff
	for i := 1; i < failures && d < s.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, s.cfg.MaxBackoff)
}

var _ Connector = (*stream.Handler)(nil)
