package sip_test

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"

	"github.com/voxgate/voxgate/session"
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
	twoWay(t, sub, p)
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

// TestDialOverTLS: a trunk with transport tls sends its INVITE over TLS to
// a carrier whose certificate the gateway trusts, with a Contact on the
// gateway's TLS listener; the call is answered and hung up.
func TestDialOverTLS(t *testing.T) {
	cert, certPEM, _ := siptest.SelfSigned(t, 7)
	c := siptest.StartCallee(t, siptest.CalleeConfig{Status: 200, TLS: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}})
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(certPEM)
	host, port, transport := "127.0.0.1", int(c.TLSAddr.Port()), "tls"
	f := newFixtureConfig(t, session.TrunkParams{InboundCIDRs: &[]string{"127.0.0.1/32"}, OutboundHost: &host, OutboundPort: &port, Transport: &transport},
		sip.Config{TLSAddr: "127.0.0.1:0", TLS: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
			TLSClient: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}})
	trunks, err := f.m.AllTrunks(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	s, err := f.m.Create(f.ctx, f.sc, session.CreateParams{Mode: "media_stream"})
	if err != nil {
		t.Fatal(err)
	}
	f.m.SetDialer(f.srv)
	call, err := f.m.Dial(f.ctx, f.sc, s.ID, session.DialParams{To: "+15551230000", TrunkID: trunks[0].ID})
	if err != nil {
		t.Fatal(err)
	}
	inv := <-c.Invites
	if inv.Transport() != "TLS" {
		t.Fatalf("INVITE came over %s", inv.Transport())
	}
	if ct := inv.Contact(); ct == nil || ct.Address.UriParams.GetOr("transport", "") != "tls" || ct.Address.Port != int(f.srv.TLSAddr().Port()) {
		t.Fatalf("Contact of the INVITE: %v", ct)
	}
	<-c.Acks
	f.waitCall(call.ID, session.CallAnswered)
	if _, err := f.m.Hangup(f.ctx, f.sc, s.ID, call.ID); err != nil {
		t.Fatal(err)
	}
	f.waitCall(call.ID, session.CallEnded)
}

// BenchmarkTLSHandshake is what SIP over TLS adds per connection: a TLS 1.3
// handshake with the gateway's ECDSA P-256 certificate over loopback (both
// ends in this process).
func BenchmarkTLSHandshake(b *testing.B) {
	cert, certPEM, _ := siptest.SelfSigned(b, 9)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _ = c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(certPEM)
	for b.Loop() {
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12})
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}
