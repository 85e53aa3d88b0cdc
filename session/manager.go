package session

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/voxgate/voxgate/id"
	"github.com/voxgate/voxgate/store"
)

// Event types written by this package (SPEC §3).
const (
	EventSessionCreated = "session.created"
	EventSessionStarted = "session.started"
	EventSessionEnded   = "session.ended"
)

// Manager creates and ends sessions and keeps their configuration. It is
// the single owner of session state on this node.
type Manager struct {
	cfg      Config
	store    *store.Store
	log      *zap.Logger
	draining atomic.Bool
	metrics  counters
	dialer   Dialer
	bots     atomic.Pointer[BotDialer]
	owners   atomic.Pointer[Owners]
	tools    atomic.Pointer[ToolResults]

	trunksVersion atomic.Uint64

	liveMu sync.Mutex
	lives  map[string]*live // sessions with something connected on this node
}

// NewManager returns a manager over st.
func NewManager(cfg Config, st *store.Store, log *zap.Logger) (*Manager, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	return &Manager{cfg: cfg, store: st, log: log, lives: map[string]*live{}}, nil
}

// CreateParams is the body of POST /v1/sessions.
type CreateParams struct {
	Mode            string          `json:"mode"`
	SourceLanguage  *string         `json:"source_language"`
	TargetLanguage  *string         `json:"target_language"`
	AgentID         *string         `json:"agent_id"`
	AIAgent         json.RawMessage `json:"ai_agent"`
	Routing         *Routing        `json:"routing"`
	Recording       *Recording      `json:"recording"`
	StreamURL       *string         `json:"stream_url"`
	StreamProtocol  *string         `json:"stream_protocol"`
	StreamAuthToken *string         `json:"stream_auth_token"`
	Metadata        json.RawMessage `json:"metadata"`
	WebhookURL      *string         `json:"webhook_url"`
}

func checkMode(mode string) error {
	if mode == "" {
		return invalid("mode", CodeInvalidRequest, "The 'mode' field is required.")
	}
	for _, m := range Modes {
		if Mode(mode) == m {
			return nil
		}
	}
	names := make([]string, len(Modes))
	for i, m := range Modes {
		names[i] = string(m)
	}
	return invalid("mode", CodeInvalidRequest, "mode must be one of %s", strings.Join(names, ", "))
}

// build validates p and turns it into a new session (not yet stored).
func (m *Manager) build(ctx context.Context, sc store.Scope, p CreateParams) (*stored, error) {
	if err := checkMode(p.Mode); err != nil {
		return nil, err
	}
	now := m.store.Now()
	s := &stored{Session: Session{
		ID: id.New(id.Session), Object: "session", Livemode: sc.Livemode, Status: StatusCreated,
		Mode: Mode(p.Mode), CreatedAt: now, Recording: Recording{Channels: "mixed"},
	}}
	s.Stream.URL = m.cfg.streamURL(s.ID)
	s.SIPURI = "sip:" + s.ID + "@" + m.cfg.SIPHost

	if err := m.setLanguages(s, p); err != nil {
		return nil, err
	}
	if err := m.setAgent(ctx, sc, s, p); err != nil {
		return nil, err
	}
	if err := m.setRouting(ctx, sc, s, p.Routing); err != nil {
		return nil, err
	}
	if p.Recording != nil {
		s.Recording.Enabled = p.Recording.Enabled
		if p.Recording.Channels != "" {
			if err := checkOneOf("recording.channels", p.Recording.Channels, "mixed", "dual"); err != nil {
				return nil, err
			}
			s.Recording.Channels = p.Recording.Channels
		}
	}
	if err := checkMetadata(p.Metadata); err != nil {
		return nil, err
	}
	s.Metadata = compactJSON(p.Metadata)
	if p.StreamURL != nil && *p.StreamURL != "" {
		if err := checkURL("stream_url", *p.StreamURL, "ws", "wss"); err != nil {
			return nil, err
		}
		proto := "voxgate"
		if p.StreamProtocol != nil && *p.StreamProtocol != "" {
			proto = *p.StreamProtocol
		}
		if err := checkOneOf("stream_protocol", proto, "voxgate", "twilio"); err != nil {
			return nil, err
		}
		s.BotStreamURL, s.BotProtocol = p.StreamURL, &proto
		if p.StreamAuthToken != nil {
			s.BotAuthToken = *p.StreamAuthToken
		}
	}
	if p.WebhookURL != nil && *p.WebhookURL != "" {
		if err := checkURL("webhook_url", *p.WebhookURL, "http", "https"); err != nil {
			return nil, err
		}
		if m.cfg.CheckWebhookURL != nil {
			if err := m.cfg.CheckWebhookURL("webhook_url", *p.WebhookURL); err != nil {
				return nil, err
			}
		}
		s.WebhookURL = p.WebhookURL
		s.Secret = id.Secret("whsec_", 24)
	}
	return s, nil
}

func (m *Manager) setLanguages(s *stored, p CreateParams) error {
	src, tgt := "", ""
	for _, f := range []struct {
		param string
		v     *string
		dst   *string
	}{{"source_language", p.SourceLanguage, &src}, {"target_language", p.TargetLanguage, &tgt}} {
		if f.v == nil || *f.v == "" {
			continue
		}
		if !validLanguage(*f.v) {
			return invalid(f.param, CodeInvalidRequest, "%s must be a BCP-47 code such as en or es", f.param)
		}
		*f.dst = *f.v
	}
	translating := s.Mode == ModeAssistiveTranslation || s.Mode == ModeBidirectionalTranslation
	if translating && (src == "" || tgt == "") {
		param := "source_language"
		if src != "" {
			param = "target_language"
		}
		return invalid(param, CodeInvalidRequest, "%s mode needs both source_language and target_language", s.Mode)
	}
	if s.Mode != ModeMediaStream {
		// The embedded engines do not detect languages: default to the
		// first transcription language, and the agent side to the customer's.
		if src == "" {
			src = m.cfg.Languages.Transcribe[0]
		}
		if tgt == "" {
			tgt = src
		}
		if err := m.cfg.Languages.check(s.Mode, src, tgt); err != nil {
			return err
		}
	}
	if src != "" {
		s.SourceLanguage = &src
	}
	if tgt != "" {
		s.TargetLanguage = &tgt
	}
	return nil
}

func (m *Manager) setAgent(ctx context.Context, sc store.Scope, s *stored, p CreateParams) error {
	if len(p.AIAgent) > 0 && string(p.AIAgent) != "null" {
		if p.AIAgent[0] != '{' {
			return invalid("ai_agent", CodeInvalidRequest, "ai_agent must be an object")
		}
		s.AIAgent = p.AIAgent
	}
	if p.AgentID == nil || *p.AgentID == "" {
		return nil
	}
	a, err := m.agent(ctx, sc, *p.AgentID)
	if errors.Is(err, ErrNotFound) {
		return invalid("agent_id", CodeAIAgentNotFound, "no agent %q", *p.AgentID)
	}
	if err != nil {
		return err
	}
	s.AgentID = p.AgentID
	s.MaxDurationSecs = a.MaxDurationSeconds
	if a.StreamURL != "" && p.StreamURL == nil {
		proto := a.StreamProtocol
		s.BotStreamURL, s.BotProtocol, s.BotAuthToken = &a.StreamURL, &proto, a.StreamAuthToken
	}
	return nil
}

func (m *Manager) setRouting(ctx context.Context, sc store.Scope, s *stored, r *Routing) error {
	if r == nil {
		return nil
	}
	if r.ConnectionID != "" {
		return invalid("routing.connection_id", CodeUnsupportedRouting,
			"connection_id routing is not supported: connect your Twilio number to the session's stream URL instead (Twilio <Stream>)")
	}
	if r.Direction != "" {
		if err := checkOneOf("routing.direction", r.Direction, "inbound", "outbound"); err != nil {
			return err
		}
	}
	switch {
	case r.Type == "sip":
		provider := "sip"
		s.Provider = &provider
		if r.SIP != nil {
			if r.SIP.FromURI != "" {
				if u, err := url.Parse(r.SIP.FromURI); err != nil || (u.Scheme != "sip" && u.Scheme != "sips") {
					return invalid("routing.sip.from_uri", CodeInvalidRequest, "from_uri must be a sip: URI")
				}
			}
			for k := range r.SIP.Headers {
				if !strings.HasPrefix(strings.ToLower(k), "x-") {
					return invalid("routing.sip.headers", CodeInvalidRequest, "only X- headers may be set, not %q", k)
				}
			}
		}
	case r.Type != "":
		return invalid("routing.type", CodeUnsupportedRouting, "routing.type must be \"sip\" (or omitted with phone_number)")
	case r.PhoneNumber != "":
		if !ValidE164(r.PhoneNumber) {
			return invalid("routing.phone_number", CodeInvalidRequest, "phone_number must be in E.164 format")
		}
		if _, err := m.phoneNumberByE164(ctx, sc, r.PhoneNumber); errors.Is(err, ErrNotFound) {
			return invalid("routing.phone_number", CodePhoneNumberNotFound, "%s is not one of your phone numbers", r.PhoneNumber)
		} else if err != nil {
			return err
		}
		provider := "sip"
		s.Provider = &provider
		s.PhoneNumber = &r.PhoneNumber
	}
	s.Routing = r
	return nil
}

// Create validates p and stores a new session with its first stream token.
// The returned session carries the token and, when a webhook_url was given,
// the webhook secret: both are shown this once.
func (m *Manager) Create(ctx context.Context, sc store.Scope, p CreateParams) (Session, error) {
	if m.draining.Load() {
		return Session{}, ErrDraining
	}
	s, err := m.build(ctx, sc, p)
	if err != nil {
		return Session{}, err
	}
	token, expires := m.newToken(sc)
	err = m.store.Update(ctx, func(tx *store.Tx) error {
		if err := tx.LockOrg(sc.OrgID); err != nil {
			return err
		}
		limit := m.cfg.MaxConcurrentSessions
		if org, err := m.store.Org(ctx, sc.OrgID); err == nil && org.MaxConcurrentSessions > 0 {
			limit = org.MaxConcurrentSessions
		}
		n, err := tx.CountLiveSessions(sc.OrgID)
		if err != nil {
			return err
		}
		if n >= limit {
			return ErrConcurrencyLimit
		}
		if err := m.put(tx, sc, s, true); err != nil {
			return err
		}
		if err := tx.AddStreamToken(hashToken(token), s.ID, expires); err != nil {
			return err
		}
		_, err = m.addEvent(tx, sc, EventSessionCreated, s.Session)
		return err
	})
	if err != nil {
		return Session{}, err
	}
	m.own(ctx, sc, s.ID)
	out := s.Session
	out.Stream.Token, out.Stream.ExpiresAt = token, &expires
	out.WebhookSecret = s.Secret
	if s.BotStreamURL != nil && s.Routing == nil {
		m.startBot(s.ID) // no call to wait for: the bot is the session's first party
	}
	return out, nil
}

// put writes a session record (insert when creating).
func (m *Manager) put(tx *store.Tx, sc store.Scope, s *stored, creating bool) error {
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	now := tx.Now()
	rec := store.Record{ID: s.ID, Scope: sc, Status: string(s.Status), Data: data, Created: s.CreatedAt, Updated: now, Activity: now}
	if creating {
		return tx.Insert(store.Sessions, rec)
	}
	return tx.Put(store.Sessions, rec)
}

func (m *Manager) addEvent(tx *store.Tx, sc store.Scope, typ string, s Session) (json.RawMessage, error) {
	data, err := json.Marshal(s.Public())
	if err != nil {
		return nil, err
	}
	return data, tx.AddEvent(store.Event{ID: id.New(id.Event), Scope: sc, Type: typ, SessionID: s.ID, Data: data, Created: tx.Now()})
}

func decodeSession(rec store.Record) (*stored, error) {
	var s stored
	if err := json.Unmarshal(rec.Data, &s); err != nil {
		return nil, fmt.Errorf("decode session %s: %w", rec.ID, err)
	}
	return &s, nil
}

// Get returns a session as GET shows it.
func (m *Manager) Get(ctx context.Context, sc store.Scope, sessionID string) (Session, error) {
	rec, err := m.store.Get(ctx, store.Sessions, sc, sessionID)
	if errors.Is(err, store.ErrNotFound) {
		return Session{}, ErrNotFound
	}
	if err != nil {
		return Session{}, err
	}
	s, err := decodeSession(rec)
	if err != nil {
		return Session{}, err
	}
	return s.Public(), nil
}

// change applies fn to a stored session in a transaction and writes it back
// with the event fn names (none when fn returns ""). The event goes to the
// outbox in the same transaction and, once committed, to live subscribers.
func (m *Manager) change(ctx context.Context, sc store.Scope, sessionID string, fn func(s *stored, now time.Time) (event string, err error)) (Session, string, json.RawMessage, error) {
	var (
		out   Session
		event string
		data  json.RawMessage
	)
	err := m.store.Update(ctx, func(tx *store.Tx) error {
		rec, err := tx.Get(store.Sessions, sc, sessionID)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		s, err := decodeSession(rec)
		if err != nil {
			return err
		}
		event, err = fn(s, tx.Now())
		out = s.Public()
		if err != nil || event == "" {
			return err
		}
		if err := m.put(tx, sc, s, false); err != nil {
			return err
		}
		data, err = m.addEvent(tx, sc, event, out)
		return err
	})
	if err != nil {
		return Session{}, "", nil, err
	}
	return out, event, data, nil
}

// End ends a session with a reason. Ending an ended session changes nothing
// and returns it as it is.
func (m *Manager) End(ctx context.Context, sc store.Scope, sessionID string, reason EndReason) (Session, error) {
	s, event, data, err := m.change(ctx, sc, sessionID, func(s *stored, now time.Time) (string, error) {
		if s.Ended() {
			return "", nil
		}
		s.Status, s.EndedAt, s.EndReason = StatusEnded, &now, &reason
		d := 0.0
		if s.StartedAt != nil {
			d = now.Sub(*s.StartedAt).Seconds()
		}
		d = float64(int64(d*1000)) / 1000
		s.DurationSeconds = &d
		return EventSessionEnded, nil
	})
	if err == nil && event != "" {
		m.log.Info("session ended", zap.String("session_id", sessionID), zap.String("end_reason", string(reason)))
		m.disown(ctx, sessionID)
		m.stopLive(sessionID, reason, data)
		m.transcriptReady(ctx, sc, s)
	}
	return s, err
}

// Activate marks a session active (its first leg joined or first audio
// arrived). It does nothing to an active or ended session.
func (m *Manager) Activate(ctx context.Context, sc store.Scope, sessionID string) (Session, error) {
	s, event, data, err := m.change(ctx, sc, sessionID, func(s *stored, now time.Time) (string, error) {
		if s.Status != StatusCreated {
			return "", nil
		}
		s.Status, s.StartedAt = StatusActive, &now
		return EventSessionStarted, nil
	})
	if err == nil && event != "" {
		m.publish(sessionID, event, data)
	}
	return s, err
}

// newToken mints a stream token for the scope and its expiry.
func (m *Manager) newToken(sc store.Scope) (string, time.Time) {
	prefix := "kst_test_"
	if sc.Livemode {
		prefix = "kst_live_"
	}
	return id.Secret(prefix, 24), m.store.Now().Add(m.cfg.StreamTokenTTL)
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// NewStreamToken mints a fresh stream token for a session that has not ended.
func (m *Manager) NewStreamToken(ctx context.Context, sc store.Scope, sessionID string) (Stream, error) {
	s, err := m.Get(ctx, sc, sessionID)
	if err != nil {
		return Stream{}, err
	}
	if s.Ended() {
		return Stream{}, ErrEnded
	}
	token, expires := m.newToken(sc)
	if err := m.store.Update(ctx, func(tx *store.Tx) error { return tx.AddStreamToken(hashToken(token), sessionID, expires) }); err != nil {
		return Stream{}, err
	}
	return Stream{URL: s.Stream.URL, Token: token, ExpiresAt: &expires}, nil
}

// ErrBadToken means a stream token is unknown, expired or for another session.
var ErrBadToken = errors.New("session: invalid or expired stream token")

// CheckStreamToken verifies that token admits a client to the session.
func (m *Manager) CheckStreamToken(ctx context.Context, sessionID, token string) error {
	h := hashToken(token)
	got, expires, err := m.store.StreamToken(ctx, h)
	if errors.Is(err, store.ErrNotFound) {
		return ErrBadToken
	}
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(sessionID)) != 1 || !m.store.Now().Before(expires) {
		return ErrBadToken
	}
	return nil
}

// Sweep ends sessions idle for longer than the idle timeout and removes
// expired stream tokens. It returns how many sessions it ended.
func (m *Manager) Sweep(ctx context.Context) (int, error) {
	now := m.store.Now()
	recs, err := m.store.IdleSessions(ctx, now.Add(-m.cfg.IdleTimeout))
	if err != nil {
		return 0, err
	}
	ended := 0
	for _, r := range recs {
		if m.busy(r.ID) || m.elsewhere(ctx, r.ID) {
			continue // a connected call is not idle; another node's sessions are its own to sweep
		}
		if _, err := m.End(ctx, r.Scope, r.ID, EndIdleTimeout); err != nil {
			return ended, err
		}
		ended++
	}
	_, err = m.store.DeleteExpiredStreamTokens(ctx, now.Add(-time.Hour))
	return ended, err
}

// Run sweeps for idle sessions until ctx is done.
func (m *Manager) Run(ctx context.Context) {
	t := time.NewTicker(m.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := m.Sweep(ctx); err != nil && ctx.Err() == nil {
				m.log.Warn("idle sweep failed", zap.Error(err))
			} else if n > 0 {
				m.log.Info("ended idle sessions", zap.Int("count", n))
			}
			if n, err := m.SweepRecordings(ctx); err != nil && ctx.Err() == nil {
				m.log.Warn("recording retention sweep failed", zap.Error(err))
			} else if n > 0 {
				m.log.Info("deleted expired recordings", zap.Int("count", n))
			}
		}
	}
}

// Drain stops the manager from taking new sessions.
func (m *Manager) Drain() { m.draining.Store(true) }

// Draining reports whether Drain was called.
func (m *Manager) Draining() bool { return m.draining.Load() }

// busy reports whether a call leg is connected to the session here.
func (m *Manager) busy(sessionID string) bool {
	l := m.lookupLive(sessionID)
	if l == nil {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.legs) > 0
}
