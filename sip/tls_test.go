package sip_test

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"

	"github.com/voxgate/voxgate/media/mediatest"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/session/sessiontest"
	"github.com/voxgate/voxgate/sip"
	"github.com/voxgate/voxgate/sip/siptest"
	"github.com/voxgate/voxgate/store"
)

// TestCallOverTLS: a phone that trusts the gateway's certificate calls a
// session over TLS; its tone reaches the subscriber, the subscriber's reaches
// the phone, the gateway's Contact keeps the dialog on TLS, and the phone's
// BYE ends the call.
func TestCallOverTLS(t *testing.T) {
	cert, certPEM, _ := siptest.SelfSigned(t, 1)
	f := newFixtureConfig(t, session.TrunkParams{InboundCIDRs: &[]string{"127.0.0.1/32"}},
		sip.Config{TLSAddr: "127.0.0.1:0", TLS: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}})
	s, err := f.m.Create(f.ctx, f.sc, session.CreateParams{Mode: "media_stream"})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := f.m.Subscribe(f.ctx, s.ID, session.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(certPEM)
	p := siptest.NewPhoneWith(t, siptest.PhoneConfig{PayloadType: 0, ClockRate: 8000, TLS: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}})
	if code := p.Call(f.ctx, f.srv.TLSAddr(), s.ID, p.Offer(sip.Supported[0])); code != 200 {
		t.Fatalf("INVITE over TLS answered %d", code)
	}
	if c := p.Dialog.InviteResponse.Contact(); c == nil || c.Address.UriParams.GetOr("transport", "") != "tls" || c.Address.Port != int(f.srv.TLSAddr().Port()) {
		t.Fatalf("Contact of the answer: %v", c)
	}
	go p.SendTone(1000, 1500*time.Millisecond)
	heard := sessiontest.Hear(t, sub, session.SpeakerCustomer, session.Rate)
	mediatest.CheckTone(t, heard[4000:], session.Rate, mediatest.ToneWant{Freq: 1000, Level: -10, MinSNR: 25})
	if err := sub.Input(session.SpeakerAgent, mediatest.Tone(session.Rate, 600, -10, session.Rate)); err != nil {
		t.Fatal(err)
	}
	p.Hears(600)
	time.Sleep(600 * time.Millisecond) // the tone's end
	if err := p.Dialog.Bye(f.ctx); err != nil {
		t.Fatal(err)
	}
	var calls []session.Call
	for range 250 {
		if calls, _, _ = f.m.ListCalls(f.ctx, f.sc, store.ListQuery{Limit: 1, SessionID: s.ID}); len(calls) == 1 && calls[0].Status.Final() {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(calls) != 1 || calls[0].HangupCause != "remote_bye" {
		t.Fatalf("call after the BYE over TLS: %+v", calls)
	}
}
