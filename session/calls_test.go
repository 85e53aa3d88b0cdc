package session_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voxgate/voxgate/media"
	"github.com/voxgate/voxgate/media/mediatest"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/session/sessiontest"
	"github.com/voxgate/voxgate/store"
)

// refusingDialer stands for a trunk that answers every INVITE with one status
// (the SIP package's own tests dial real SIP peers).
type refusingDialer struct {
	status int
	got    []session.DialRequest
}

func (d *refusingDialer) Dial(_ context.Context, req session.DialRequest) error {
	d.got = append(d.got, req)
	if d.status != 0 {
		return &session.DialError{SIPStatus: d.status, Reason: "Service Unavailable"}
	}
	return nil
}

func (d *refusingDialer) Hangup(string) error { return session.ErrNotFound }

func eventTypes(t *testing.T, st *store.Store, sid string) string {
	t.Helper()
	evs, err := st.SessionEvents(context.Background(), sid)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range evs {
		types = append(types, e.Type)
	}
	return strings.Join(types, ",")
}

func TestCallLifecycleEvents(t *testing.T) {
	f := newFixture(t, session.Config{})
	sid := f.session(session.ModeMediaStream)
	sub := f.subscribe(sid, session.SubscribeOptions{})
	c, err := f.m.StartCall(f.ctx, sid, session.Call{Direction: "inbound", Transport: "sip", Speaker: session.SpeakerCustomer, From: "+14155550100", Status: session.CallRinging})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.m.CallAnswered(f.ctx, c.ID, "PCMU"); err != nil {
		t.Fatal(err)
	}
	if err := f.m.CallEnded(f.ctx, c.ID, session.CallEnded, "remote_bye", 0); err != nil {
		t.Fatal(err)
	}
	// Ending twice changes nothing.
	if err := f.m.CallEnded(f.ctx, c.ID, session.CallFailed, "late", 500); err != nil {
		t.Fatal(err)
	}
	want := "session.created,call.ringing,call.answered,session.provider.connected,call.ended,session.provider.disconnected"
	if got := eventTypes(t, f.st, sid); got != want {
		t.Fatalf("events %s", got)
	}
	for _, typ := range []string{"call.ringing", "call.answered", "session.provider.connected", "call.ended"} {
		if ev := sessiontest.Next(t, sub, typ); !strings.Contains(string(ev.Data), c.ID) {
			t.Fatalf("%s lacks the call: %s", typ, ev.Data)
		}
	}
	got, _ := f.m.GetCall(f.ctx, f.sc, c.ID)
	if got.Status != session.CallEnded || got.HangupCause != "remote_bye" || got.DurationSeconds == nil || got.AnsweredAt == nil {
		t.Fatalf("call: %+v", got)
	}
	// An unanswered call fails with call.failed and keeps its status.
	c2, _ := f.m.StartCall(f.ctx, sid, session.Call{Direction: "outbound", Transport: "sip", Speaker: session.SpeakerAgent})
	if err := f.m.CallEnded(f.ctx, c2.ID, session.CallBusy, "busy", 486); err != nil {
		t.Fatal(err)
	}
	got, _ = f.m.GetCall(f.ctx, f.sc, c2.ID)
	if got.Status != session.CallBusy || *got.SIPStatus != 486 {
		t.Fatalf("busy call: %+v", got)
	}
}

func TestDialPicksTrunkAndSpeaker(t *testing.T) {
	f := newFixture(t, session.Config{})
	d := &refusingDialer{}
	f.m.SetDialer(d)
	name, host := "carrier", "127.0.0.1"
	if _, err := f.m.CreateTrunk(f.ctx, f.sc, session.TrunkParams{Name: &name, OutboundHost: &host}); err != nil {
		t.Fatal(err)
	}
	sid := f.session(session.ModeMediaStream)
	c, err := f.m.Dial(f.ctx, f.sc, sid, session.DialParams{To: "+14155550100"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Speaker != session.SpeakerCustomer || c.Status != session.CallDialing || d.got[0].Trunk == nil || d.got[0].Trunk.OutboundPort != 5060 {
		t.Fatalf("first dial: %+v %+v", c, d.got[0])
	}
	// The customer side has a leg: the next dial takes the agent side.
	c2, err := f.m.Dial(f.ctx, f.sc, sid, session.DialParams{To: "sip:agent@127.0.0.1:5099"})
	if err != nil || c2.Speaker != session.SpeakerAgent || d.got[1].Trunk != nil {
		t.Fatalf("second dial: %+v %v", c2, err)
	}
	// A trunk that refuses at once: a DialError, and the call is failed.
	d.status = 503
	_, err = f.m.Dial(f.ctx, f.sc, sid, session.DialParams{To: "+14155550101", Speaker: "agent"})
	var de *session.DialError
	if !errors.As(err, &de) || de.SIPStatus != 503 {
		t.Fatalf("err = %v", err)
	}
	calls, _, _ := f.m.ListCalls(f.ctx, f.sc, store.ListQuery{Limit: 10, SessionID: sid, Status: string(session.CallFailed)})
	if len(calls) != 1 || *calls[0].SIPStatus != 503 {
		t.Fatalf("failed calls: %+v", calls)
	}
	// Hangup with nothing holding the calls closes their records.
	out, err := f.m.Hangup(f.ctx, f.sc, sid, "")
	if err != nil || len(out) != 2 || out[0].Status != session.CallCanceled {
		t.Fatalf("hangup: %+v %v", out, err)
	}
}

func TestRouteInbound(t *testing.T) {
	f := newFixture(t, session.Config{})
	sid := f.session(session.ModeMediaStream)
	got, err := f.m.RouteInbound(f.ctx, f.sc, sid)
	if err != nil || got != sid {
		t.Fatalf("sess_ route: %s %v", got, err)
	}
	other := store.Scope{OrgID: "org_other", Livemode: true}
	if _, err := f.m.RouteInbound(f.ctx, other, sid); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("another org reached the session: %v", err)
	}
	if _, err := f.m.RouteInbound(f.ctx, f.sc, "+14155550100"); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("unknown number: %v", err)
	}
	if _, err := f.m.CreatePhoneNumber(f.ctx, f.sc, session.PhoneNumberParams{Number: "+14155550100"}); err != nil {
		t.Fatal(err)
	}
	first, err := f.m.RouteInbound(f.ctx, f.sc, "+14155550100")
	if err != nil || first == sid {
		t.Fatalf("number route: %s %v", first, err)
	}
	s, _ := f.m.Get(f.ctx, f.sc, first)
	if s.Mode != session.ModeMediaStream || s.PhoneNumber == nil || *s.PhoneNumber != "+14155550100" {
		t.Fatalf("session for the number: %+v", s)
	}
	// A second call to the number joins the open session.
	if again, _ := f.m.RouteInbound(f.ctx, f.sc, "+14155550100"); again != first {
		t.Fatalf("second call made session %s, want %s", again, first)
	}
	f.m.End(f.ctx, f.sc, first, session.EndExplicit)
	if _, err := f.m.RouteInbound(f.ctx, f.sc, first); !errors.Is(err, session.ErrEnded) {
		t.Fatalf("ended session: %v", err)
	}
}

// slowLeg is a pipeLeg that takes a while to join: its format is ready
// only 100 ms after it is first asked for (as a codec's set-up may take).
type slowLeg struct {
	*pipeLeg
	settling sync.Once
}

func (l *slowLeg) Format() media.Format {
	l.settling.Do(func() { time.Sleep(100 * time.Millisecond) })
	return l.pipeLeg.Format()
}

// AnswerLeg joins the leg before call.answered goes out: a bot that speaks
// the moment it hears the answer is heard from its first frame.
func TestAnswerLegJoinsBeforeTheAnswerIsTold(t *testing.T) {
	f := newFixture(t, session.Config{})
	sid := f.session(session.ModeMediaStream)
	bot := f.subscribe(sid, session.SubscribeOptions{})
	c, err := f.m.StartCall(f.ctx, sid, session.Call{Direction: "inbound", Transport: "sip", Speaker: session.SpeakerCustomer, Status: session.CallRinging})
	if err != nil {
		t.Fatal(err)
	}
	leg := &slowLeg{pipeLeg: newPipeLeg(c.ID, session.SpeakerCustomer)}
	defer leg.Close(nil)
	joined := make(chan error, 1)
	go func() { joined <- f.m.AnswerLeg(f.ctx, sid, leg, "L16") }()
	sessiontest.Next(t, bot, session.EventCallAnswered)
	greeting := mediatest.Tone(session.Rate, 1000, -10, session.FrameSamples)
	if err := bot.Input(session.SpeakerAgent, greeting); err != nil {
		t.Fatal(err)
	}
	if err := <-joined; err != nil {
		t.Fatal(err)
	}
	// Within a second of frames (silence, then the greeting), the whole
	// greeting, from its first sample, in one of them.
	heardGreeting := func() bool {
		heard := leg.heardSoFar()
		for i := 0; i+session.FrameSamples <= len(heard); i += session.FrameSamples {
			if slices.Equal(heard[i:i+session.FrameSamples], greeting) {
				return true
			}
		}
		return false
	}
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if heardGreeting() {
			return
		}
	}
	t.Fatal("the leg never heard the bot's first frame, sent as call.answered came")
}
