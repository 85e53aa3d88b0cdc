package session

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/voxgate/voxgate/id"
	"github.com/voxgate/voxgate/store"
)

// Dialer places and ends calls on a telephony network (the SIP server).
type Dialer interface {
	// Dial sends the call out. It returns a *DialError when the far end is
	// unreachable or refuses at once, nil once the call is under way; its
	// progress then arrives through CallRinging, CallAnswered, AddLeg and
	// CallEnded.
	Dial(ctx context.Context, req DialRequest) error
	// Hangup cancels a ringing call or hangs up an answered one; ErrNotFound
	// when the dialer holds no such call.
	Hangup(callID string) error
}

// DialRequest is a call for the Dialer to place.
type DialRequest struct {
	Call         Call
	Scope        store.Scope
	Trunk        *Trunk // nil: Call.To is a sip: URI dialed directly
	Headers      map[string]string
	Timeout      time.Duration
	MaxDuration  time.Duration
	CallerIDName string
}

// DialError is a call the far end refused or that could not be sent.
type DialError struct {
	SIPStatus int
	Reason    string
}

func (e *DialError) Error() string { return fmt.Sprintf("dial failed: %d %s", e.SIPStatus, e.Reason) }

// ErrNoDialer means no telephony network is configured to dial out on.
var ErrNoDialer = errors.New("session: no dialer configured")

// SetDialer registers the network calls are dialed on.
func (m *Manager) SetDialer(d Dialer) { m.dialer = d }

// DialParams is the body of POST /v1/sessions/:id/dial.
type DialParams struct {
	To                 string            `json:"to"`
	From               string            `json:"from"`
	TrunkID            string            `json:"trunk_id"`
	Speaker            string            `json:"speaker"`
	Headers            map[string]string `json:"headers"`
	TimeoutSeconds     *int              `json:"timeout_seconds"`
	MaxDurationSeconds int               `json:"max_duration_seconds"`
	CallerIDName       string            `json:"caller_id_name"`
}

func isSIPURI(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "sip" || u.Scheme == "sips") && u.Opaque != ""
}

// Dial places an outbound call from a session: the call is stored as
// dialing and handed to the dialer.
func (m *Manager) Dial(ctx context.Context, sc store.Scope, sessionID string, p DialParams) (Call, error) {
	s, err := m.Get(ctx, sc, sessionID)
	if err != nil {
		return Call{}, err
	}
	if s.Ended() {
		return Call{}, ErrEnded
	}
	req := DialRequest{Scope: sc, Headers: p.Headers, Timeout: 30 * time.Second, CallerIDName: p.CallerIDName,
		MaxDuration: time.Duration(p.MaxDurationSeconds) * time.Second}
	switch {
	case p.To == "":
		return Call{}, invalid("to", CodeInvalidRequest, "The 'to' field is required.")
	case !ValidE164(p.To) && !isSIPURI(p.To):
		return Call{}, invalid("to", CodeInvalidRequest, "to must be an E.164 number or a sip: URI")
	case p.From != "" && !ValidE164(p.From) && !isSIPURI(p.From):
		return Call{}, invalid("from", CodeInvalidRequest, "from must be an E.164 number or a sip: URI")
	case p.MaxDurationSeconds < 0:
		return Call{}, invalid("max_duration_seconds", CodeInvalidRequest, "max_duration_seconds must not be negative")
	case len(p.CallerIDName) > 100:
		return Call{}, invalid("caller_id_name", CodeInvalidRequest, "caller_id_name is longer than 100 bytes")
	}
	if p.TimeoutSeconds != nil {
		if *p.TimeoutSeconds < 1 || *p.TimeoutSeconds > 300 {
			return Call{}, invalid("timeout_seconds", CodeInvalidRequest, "timeout_seconds must be 1-300")
		}
		req.Timeout = time.Duration(*p.TimeoutSeconds) * time.Second
	}
	for k := range p.Headers {
		if !strings.HasPrefix(strings.ToLower(k), "x-") {
			return Call{}, invalid("headers", CodeInvalidRequest, "only X- headers may be set, not %q", k)
		}
	}
	if req.Trunk, err = m.dialTrunk(ctx, sc, p); err != nil {
		return Call{}, err
	}
	c := Call{Direction: "outbound", Transport: "sip", To: p.To, From: p.From, Status: CallDialing, SIPHeaders: p.Headers}
	if c.From == "" && s.PhoneNumber != nil {
		c.From = *s.PhoneNumber
	}
	if c.Speaker, err = m.LegSpeaker(ctx, sc, sessionID, p.Speaker, SpeakerCustomer); err != nil {
		return Call{}, err
	}
	if m.dialer == nil {
		return Call{}, ErrNoDialer
	}
	c.ID = id.New(id.Call)
	if c, err = m.StartCall(ctx, sessionID, c); err != nil {
		return Call{}, err
	}
	req.Call = c
	if err := m.dialer.Dial(ctx, req); err != nil {
		status, cause := 0, "dial_failed"
		var de *DialError
		if errors.As(err, &de) {
			status = de.SIPStatus
		}
		if endErr := m.CallEnded(context.WithoutCancel(ctx), c.ID, CallFailed, cause, status); endErr != nil {
			return Call{}, errors.Join(err, endErr)
		}
		return Call{}, err
	}
	return c, nil
}

// dialTrunk picks the trunk for a call: the one named, else (for a number)
// the scope's first trunk that dials out. A sip: URI needs none.
func (m *Manager) dialTrunk(ctx context.Context, sc store.Scope, p DialParams) (*Trunk, error) {
	if p.TrunkID != "" {
		t, err := m.GetTrunk(ctx, sc, p.TrunkID)
		if errors.Is(err, ErrNotFound) {
			return nil, invalid("trunk_id", "trunk_not_found", "no SIP trunk %q", p.TrunkID)
		}
		if err != nil {
			return nil, err
		}
		if t.OutboundHost == "" {
			return nil, invalid("trunk_id", CodeInvalidRequest, "trunk %q has no outbound_host", p.TrunkID)
		}
		return &t, nil
	}
	if isSIPURI(p.To) {
		return nil, nil
	}
	all, err := m.AllTrunks(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range all {
		if t.Scope == sc && t.OutboundHost != "" {
			return &t, nil
		}
	}
	return nil, invalid("trunk_id", "no_outbound_trunk", "dialing a number needs a SIP trunk with an outbound_host; create one at /v1/sip_trunks")
}

// LegSpeaker applies SPEC §2 to a new leg: an explicit speaker wins; else
// the side that has no live call leg yet; else (both or neither) fallback:
// customer for /dial, agent for /webrtc.
func (m *Manager) LegSpeaker(ctx context.Context, sc store.Scope, sessionID, explicit string, fallback Speaker) (Speaker, error) {
	if explicit != "" {
		if !Speaker(explicit).Valid() {
			return "", invalid("speaker", CodeInvalidRequest, "speaker must be customer or agent")
		}
		return Speaker(explicit), nil
	}
	calls, err := m.sessionCalls(ctx, sc, sessionID)
	if err != nil {
		return "", err
	}
	has := map[Speaker]bool{}
	for _, c := range calls {
		if !c.Status.Final() {
			has[c.Speaker] = true
		}
	}
	switch {
	case has[SpeakerCustomer] && !has[SpeakerAgent]:
		return SpeakerAgent, nil
	case has[SpeakerAgent] && !has[SpeakerCustomer]:
		return SpeakerCustomer, nil
	}
	return fallback, nil
}

// ErrHangup is the cause given to legs hung up through the API.
var ErrHangup = errors.New("session: hung up by request")

// Hangup ends one call of a session, or every call not yet over, and
// returns them as they are afterwards.
func (m *Manager) Hangup(ctx context.Context, sc store.Scope, sessionID, callID string) ([]Call, error) {
	if _, err := m.Get(ctx, sc, sessionID); err != nil {
		return nil, err
	}
	calls, err := m.sessionCalls(ctx, sc, sessionID)
	if err != nil {
		return nil, err
	}
	var targets []Call
	for _, c := range calls {
		if (callID == "" && !c.Status.Final()) || c.ID == callID {
			targets = append(targets, c)
		}
	}
	if callID != "" && len(targets) == 0 {
		return nil, &InvalidError{Param: "call_id", Code: "call_not_found", Message: fmt.Sprintf("no call %q in this session", callID)}
	}
	for _, c := range targets {
		if c.Status.Final() {
			continue
		}
		if !m.hangupLive(c) {
			// Nothing holds it any more (a restart, say): close the record.
			if err := m.CallEnded(ctx, c.ID, CallCanceled, "api_hangup", 0); err != nil {
				return nil, err
			}
		}
	}
	out := make([]Call, 0, len(targets))
	for _, c := range targets {
		got, err := m.GetCall(ctx, sc, c.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, got)
	}
	return out, nil
}

// hangupLive asks whoever holds a call to end it.
func (m *Manager) hangupLive(c Call) bool {
	if m.dialer != nil && c.Transport == "sip" {
		if err := m.dialer.Hangup(c.ID); err == nil {
			return true
		}
	}
	if l := m.lookupLive(c.SessionID); l != nil {
		l.mu.Lock()
		lr := l.legs[c.ID]
		l.mu.Unlock()
		if lr != nil {
			_ = lr.leg.Close(ErrHangup)
			return true
		}
	}
	return false
}

// RouteInbound finds the session an inbound call to user joins: "sess_…"
// names a session of the scope; an E.164 number names one of the scope's
// phone numbers, whose open session (routing.phone_number) is joined or, if
// none, a new session is created with the number's mode and agent.
func (m *Manager) RouteInbound(ctx context.Context, sc store.Scope, user string) (string, error) {
	if id.HasPrefix(user, id.Session) {
		s, ssc, err := m.Peek(ctx, user)
		if err != nil || ssc != sc {
			return "", ErrNotFound
		}
		if s.Ended() {
			return "", ErrEnded
		}
		return m.here(ctx, s.ID)
	}
	if !ValidE164(user) {
		return "", ErrNotFound
	}
	n, err := m.phoneNumberByE164(ctx, sc, user)
	if err != nil {
		return "", err
	}
	open, err := m.store.OpenSessions(ctx, sc)
	if err != nil {
		return "", err
	}
	for _, rec := range open {
		s, err := decodeSession(rec)
		if err != nil {
			return "", err
		}
		if s.PhoneNumber != nil && *s.PhoneNumber == n.Number {
			return m.here(ctx, s.ID)
		}
	}
	p := CreateParams{Mode: string(n.Mode), AgentID: n.AgentID, StreamURL: n.StreamURL,
		Routing: &Routing{PhoneNumber: n.Number, Direction: "inbound"}}
	s, err := m.Create(ctx, sc, p)
	if err != nil {
		return "", err
	}
	return s.ID, nil
}
