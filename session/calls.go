package session

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/voxgate/voxgate/id"
	"github.com/voxgate/voxgate/store"
)

// CallStatus is where a call leg is in its life.
type CallStatus string

// Call statuses (SPEC §3).
const (
	CallDialing  CallStatus = "dialing"
	CallRinging  CallStatus = "ringing"
	CallAnswered CallStatus = "answered"
	CallEnded    CallStatus = "ended"
	CallFailed   CallStatus = "failed"
	CallBusy     CallStatus = "busy"
	CallNoAnswer CallStatus = "no_answer"
	CallCanceled CallStatus = "canceled"
)

// Final reports whether the call is over.
func (s CallStatus) Final() bool {
	switch s {
	case CallEnded, CallFailed, CallBusy, CallNoAnswer, CallCanceled:
		return true
	}
	return false
}

// Call events (SPEC §3).
const (
	EventCallRinging          = "call.ringing"
	EventCallAnswered         = "call.answered"
	EventCallEnded            = "call.ended"
	EventCallFailed           = "call.failed"
	EventProviderConnected    = "session.provider.connected"
	EventProviderDisconnected = "session.provider.disconnected"
)

// Call is one leg of a session: a SIP call, a WebRTC peer, a Twilio stream
// or a bot, as the API shows it.
type Call struct {
	ID              string            `json:"id"`
	Object          string            `json:"object"`
	Livemode        bool              `json:"livemode"`
	SessionID       string            `json:"session_id"`
	Direction       string            `json:"direction"` // inbound or outbound
	Transport       string            `json:"transport"` // sip, webrtc, twilio or bot
	Speaker         Speaker           `json:"speaker"`
	From            string            `json:"from"`
	To              string            `json:"to"`
	Status          CallStatus        `json:"status"`
	Codec           string            `json:"codec"`
	SIPCallID       string            `json:"sip_call_id"`
	SIPHeaders      map[string]string `json:"sip_headers"`
	HangupCause     string            `json:"hangup_cause"`
	SIPStatus       *int              `json:"sip_status"`
	StartedAt       time.Time         `json:"started_at"`
	AnsweredAt      *time.Time        `json:"answered_at"`
	EndedAt         *time.Time        `json:"ended_at"`
	DurationSeconds *float64          `json:"duration_seconds"`
}

// StartCall stores a new call of a session that has not ended. An inbound
// call that is ringing reports call.ringing.
func (m *Manager) StartCall(ctx context.Context, sessionID string, c Call) (Call, error) {
	s, sc, err := m.Peek(ctx, sessionID)
	if err != nil {
		return Call{}, err
	}
	if s.Ended() {
		return Call{}, ErrEnded
	}
	if c.ID == "" {
		c.ID = id.New(id.Call)
	}
	if c.SIPHeaders == nil {
		c.SIPHeaders = map[string]string{}
	}
	c.Object, c.Livemode, c.SessionID = "call", sc.Livemode, sessionID
	if c.Status == "" {
		c.Status = CallDialing
	}
	c.StartedAt = m.store.Now()
	var data json.RawMessage
	err = m.store.Update(ctx, func(tx *store.Tx) error {
		raw, err := json.Marshal(c)
		if err != nil {
			return err
		}
		rec := store.Record{ID: c.ID, Scope: sc, Status: string(c.Status), Data: raw, Created: c.StartedAt, Updated: c.StartedAt, Session: sessionID, Dir: c.Direction}
		if err := tx.Insert(store.Calls, rec); err != nil {
			return err
		}
		if c.Status != CallRinging {
			return nil
		}
		data, err = callEvent(tx, sc, EventCallRinging, c)
		return err
	})
	if err != nil {
		return Call{}, err
	}
	if data != nil {
		m.publish(sessionID, EventCallRinging, data)
	}
	return c, nil
}

// callEvent stores an event whose data is {"call": c}.
func callEvent(tx *store.Tx, sc store.Scope, typ string, c Call) (json.RawMessage, error) {
	data, err := json.Marshal(map[string]any{"call": c, "session_id": c.SessionID})
	if err != nil {
		return nil, err
	}
	return data, tx.AddEvent(store.Event{ID: id.New(id.Event), Scope: sc, Type: typ, SessionID: c.SessionID, Data: data, Created: tx.Now()})
}

// updateCall changes a stored call and emits the events fn names, in order.
func (m *Manager) updateCall(ctx context.Context, callID string, fn func(c *Call, now time.Time) []string) (Call, error) {
	var (
		c      Call
		events []string
		datas  []json.RawMessage
	)
	err := m.store.Update(ctx, func(tx *store.Tx) error {
		rec, err := tx.Lookup(store.Calls, callID)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if err := json.Unmarshal(rec.Data, &c); err != nil {
			return err
		}
		events = fn(&c, tx.Now())
		if len(events) == 0 {
			return nil
		}
		raw, err := json.Marshal(c)
		if err != nil {
			return err
		}
		rec.Status, rec.Data, rec.Updated = string(c.Status), raw, tx.Now()
		if err := tx.Put(store.Calls, rec); err != nil {
			return err
		}
		for _, e := range events {
			d, err := callEvent(tx, rec.Scope, e, c)
			if err != nil {
				return err
			}
			datas = append(datas, d)
		}
		return nil
	})
	if err != nil {
		return Call{}, err
	}
	for i, e := range events {
		m.publish(c.SessionID, e, datas[i])
	}
	return c, nil
}

// CallRinging records that a call is alerting (180/183).
func (m *Manager) CallRinging(ctx context.Context, callID string, sipStatus int) error {
	_, err := m.updateCall(ctx, callID, func(c *Call, _ time.Time) []string {
		if c.Status != CallDialing {
			return nil
		}
		c.Status = CallRinging
		if sipStatus > 0 {
			c.SIPStatus = &sipStatus
		}
		return []string{EventCallRinging}
	})
	return err
}

// CallAnswered records that a call is connected.
// The session's bot, if it has one, is connected when its first call is.
func (m *Manager) CallAnswered(ctx context.Context, callID, codec string) error {
	answered := false
	c, err := m.updateCall(ctx, callID, func(c *Call, now time.Time) []string {
		if c.Status.Final() || c.Status == CallAnswered {
			return nil
		}
		c.Status, c.AnsweredAt, c.Codec = CallAnswered, &now, codec
		ok := 200
		if c.Transport == "sip" {
			c.SIPStatus = &ok
		}
		answered = true
		return []string{EventCallAnswered, EventProviderConnected}
	})
	if err == nil && answered {
		if l := m.lookupLive(c.SessionID); l != nil {
			l.markAnswered() // an early-media leg now counts as answered
		}
		m.startBot(c.SessionID)
	}
	return err
}

// CallEnded records the end of a call: ended after an answer, else one of
// failed, busy, no_answer or canceled.
func (m *Manager) CallEnded(ctx context.Context, callID string, status CallStatus, cause string, sipStatus int) error {
	_, err := m.updateCall(ctx, callID, func(c *Call, now time.Time) []string {
		if c.Status.Final() {
			return nil
		}
		answered := c.Status == CallAnswered
		switch {
		case answered:
			status = CallEnded
		case status == CallEnded || !status.Final():
			status = CallFailed
		}
		c.Status, c.EndedAt, c.HangupCause = status, &now, cause
		if sipStatus > 0 {
			c.SIPStatus = &sipStatus
		}
		if answered {
			d := float64(int64(now.Sub(*c.AnsweredAt).Seconds()*1000)) / 1000
			c.DurationSeconds = &d
			return []string{EventCallEnded, EventProviderDisconnected}
		}
		zero := 0.0
		c.DurationSeconds = &zero
		return []string{EventCallFailed}
	})
	return err
}

// GetCall returns a call in the scope.
func (m *Manager) GetCall(ctx context.Context, sc store.Scope, callID string) (Call, error) {
	return getRecord[Call](ctx, m.store, store.Calls, sc, callID)
}

// ListCalls returns a page of calls, newest first, filtered by the query's
// session, status and direction.
func (m *Manager) ListCalls(ctx context.Context, sc store.Scope, lq store.ListQuery) ([]Call, bool, error) {
	return listRecords(ctx, m.store, store.Calls, sc, lq, func(c Call) Call { return c })
}

// sessionCalls returns every call of a session.
func (m *Manager) sessionCalls(ctx context.Context, sc store.Scope, sessionID string) ([]Call, error) {
	var all []Call
	lq := store.ListQuery{Limit: 100, SessionID: sessionID}
	for {
		page, more, err := m.ListCalls(ctx, sc, lq)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if !more {
			return all, nil
		}
		lq.StartingAfter = page[len(page)-1].ID
	}
}

// AgentCallParams is the body of POST /v1/calls: an ai_agent session for
// the agent, dialed at once (one session per number when To is a list).
type AgentCallParams struct {
	AgentID     string          `json:"agent_id"`
	To          json.RawMessage `json:"to"` // a number or URI, or a list of them
	PhoneNumber string          `json:"phone_number"`
	From        string          `json:"from"`
	Variables   json.RawMessage `json:"variables"`
	Context     json.RawMessage `json:"context"`
	Record      bool            `json:"record"`
	WebhookURL  string          `json:"webhook_url"`
}

// CallAgent creates an ai_agent session for each destination and dials it.
func (m *Manager) CallAgent(ctx context.Context, sc store.Scope, p AgentCallParams) ([]Call, error) {
	if p.AgentID == "" {
		return nil, invalid("agent_id", CodeInvalidRequest, "The 'agent_id' field is required.")
	}
	a, err := m.agent(ctx, sc, p.AgentID)
	if errors.Is(err, ErrNotFound) {
		return nil, invalid("agent_id", CodeAgentNotFound, "no agent %q", p.AgentID)
	}
	if err != nil {
		return nil, err
	}
	if a.StreamURL == "" && a.LLM == nil {
		return nil, invalid("agent_id", "agent_not_configured", "agent %q has no brain: give it a stream_url or an llm", p.AgentID)
	}
	var targets []string
	switch {
	case len(p.To) > 0 && p.To[0] == '[':
		if err := json.Unmarshal(p.To, &targets); err != nil {
			return nil, invalid("to", CodeInvalidRequest, "to must be a number, a sip: URI or a list of them")
		}
	case len(p.To) > 0 && string(p.To) != "null":
		var one string
		if err := json.Unmarshal(p.To, &one); err != nil {
			return nil, invalid("to", CodeInvalidRequest, "to must be a number, a sip: URI or a list of them")
		}
		targets = []string{one}
	case p.PhoneNumber != "":
		targets = []string{p.PhoneNumber}
	}
	if len(targets) == 0 || len(targets) > 100 {
		return nil, invalid("to", CodeInvalidRequest, "to needs 1 to 100 destinations")
	}
	meta := p.Variables
	if len(meta) == 0 || string(meta) == "null" {
		meta = p.Context
	}
	var out []Call
	for _, to := range targets {
		cp := CreateParams{Mode: string(ModeAIAgent), AgentID: &p.AgentID, Metadata: meta, Recording: &Recording{Enabled: p.Record}}
		if a.Language != "" {
			cp.SourceLanguage = &a.Language
		}
		if p.WebhookURL != "" {
			cp.WebhookURL = &p.WebhookURL
		}
		s, err := m.Create(ctx, sc, cp)
		if err != nil {
			return out, err
		}
		c, err := m.Dial(ctx, sc, s.ID, DialParams{To: to, From: p.From, Speaker: string(SpeakerCustomer)})
		if err != nil {
			_, _ = m.End(context.WithoutCancel(ctx), sc, s.ID, EndError)
			return out, err
		}
		out = append(out, c)
	}
	return out, nil
}
