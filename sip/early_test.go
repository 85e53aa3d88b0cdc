package sip_test

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/voxgate/voxgate/media/mediatest"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/session/sessiontest"
	"github.com/voxgate/voxgate/sip/siptest"
	"github.com/voxgate/voxgate/store"
)

// hearEarly subscribes to a dialled session and checks that the callee's
// early-media tone is heard while the call still rings.
func (f *fixture) hearEarly(sid, callID string, freq float64) *session.Subscription {
	f.t.Helper()
	sub, err := f.m.Subscribe(f.ctx, sid, session.SubscribeOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { sub.Close() })
	heard := sessiontest.Hear(f.t, sub, session.SpeakerCustomer, session.Rate/2)
	mediatest.CheckTone(f.t, heard[2000:], session.Rate, mediatest.ToneWant{Freq: freq, Level: -10, MinSNR: 25})
	if c, _ := f.m.GetCall(f.ctx, f.sc, callID); c.Status != session.CallRinging {
		f.t.Fatalf("early media heard with the call %s", c.Status)
	}
	return sub
}

// TestOutboundEarlyMedia: a 183 with SDP streams the callee's ringback into
// the session before the answer; the answer keeps the same leg.
func TestOutboundEarlyMedia(t *testing.T) {
	f := newFixture(t, "127.0.0.1/32")
	c := siptest.StartCallee(t, siptest.CalleeConfig{Status: 200, EarlyTone: 700, EarlyFor: 3 * time.Second})
	call, sid, err := f.dial(c.Addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	sub := f.hearEarly(sid, call.ID, 700)
	<-c.Acks
	f.waitCall(call.ID, session.CallAnswered)
	if err := sub.Input(session.SpeakerAgent, mediatest.Tone(session.Rate, 600, -10, session.Rate)); err != nil {
		t.Fatal(err)
	}
	c.Hears(600)
	if _, err := f.m.Hangup(f.ctx, f.sc, sid, call.ID); err != nil {
		t.Fatal(err)
	}
	f.waitCall(call.ID, session.CallEnded)
}

// TestOutboundEarlyMediaThenBusy: a call refused after early media fails as
// busy and leaves the session up, to dial again.
func TestOutboundEarlyMediaThenBusy(t *testing.T) {
	f := newFixture(t, "127.0.0.1/32")
	c := siptest.StartCallee(t, siptest.CalleeConfig{Status: 486, EarlyTone: 700, EarlyFor: 2 * time.Second})
	call, sid, err := f.dial(c.Addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	f.hearEarly(sid, call.ID, 700)
	if got := f.waitCall(call.ID, session.CallBusy); *got.SIPStatus != 486 {
		t.Fatalf("busy call %+v", got)
	}
	again := siptest.NewCallee(t, 200, "", "")
	secs := 10
	second, err := f.m.Dial(f.ctx, f.sc, sid, session.DialParams{To: "sip:callee@" + again.Addr.String(), TimeoutSeconds: &secs})
	if err != nil {
		t.Fatalf("the session did not stay up for a second dial: %v", err)
	}
	<-again.Acks
	f.waitCall(second.ID, session.CallAnswered)
}

// TestOutboundUnreachable: a far end that sends nothing, not even 100
// Trying, fails the dial at once (the API's 502) instead of ringing on.
func TestOutboundUnreachable(t *testing.T) {
	f := newFixture(t, "127.0.0.1/32")
	hole, err := net.ListenPacket("udp", "127.0.0.1:0") // takes INVITEs, never answers
	if err != nil {
		t.Fatal(err)
	}
	defer hole.Close()
	_, _, err = f.dial(hole.LocalAddr().(*net.UDPAddr).AddrPort(), 30*time.Second)
	var de *session.DialError
	if !errors.As(err, &de) {
		t.Fatalf("dial to a silent host: %v", err)
	}
	calls, _, _ := f.m.ListCalls(f.ctx, f.sc, store.ListQuery{Limit: 1})
	if len(calls) != 1 || calls[0].Status != session.CallFailed || calls[0].HangupCause != "unreachable" {
		t.Fatalf("unreachable call %+v", calls)
	}
}
