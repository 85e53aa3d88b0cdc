package sip_test

import (
	"testing"

	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/sip"
	"github.com/voxgate/voxgate/sip/siptest"
)

// TestSRTPCalls: a trunk with srtp: require refuses a plain RTP offer (488)
// and answers an RTP/SAVP offer with its own SDES key, the tone crossing
// encrypted both ways; a trunk with the default srtp: disable refuses SAVP.
func TestSRTPCalls(t *testing.T) {
	require := "require"
	f := newFixtureTrunk(t, session.TrunkParams{InboundCIDRs: &[]string{"127.0.0.1/32"}, SRTP: &require})
	s, err := f.m.Create(f.ctx, f.sc, session.CreateParams{Mode: "media_stream"})
	if err != nil {
		t.Fatal(err)
	}
	plain := siptest.NewPhone(t, 0, 8000)
	if code := plain.Call(f.ctx, f.srv.Addr(), s.ID, plain.Offer(sip.Supported[0])); code != 488 {
		t.Fatalf("plain offer to an srtp: require trunk answered %d", code)
	}

	sub, err := f.m.Subscribe(f.ctx, s.ID, session.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	p := siptest.NewPhone(t, 0, 8000)
	mine := sip.NewCrypto(1, "AES_CM_128_HMAC_SHA1_80")
	if code := p.Call(f.ctx, f.srv.Addr(), s.ID, sip.SecureSDP(p.Offer(sip.Supported[0], sip.TelephoneEvent), mine)); code != 200 {
		t.Fatalf("SAVP offer answered %d", code)
	}
	answer, err := sip.ParseSDP(p.Dialog.InviteResponse.Body())
	if err != nil || !answer.Secure() || len(answer.Crypto) != 1 || answer.Crypto[0].Tag != 1 {
		t.Fatalf("answer %+v %v", answer, err)
	}
	if err := p.RTP.SetSRTP(sip.SRTPKeys(mine, answer.Crypto[0])); err != nil {
		t.Fatal(err)
	}
	twoWay(t, sub, p)
	if err := p.Dialog.Bye(f.ctx); err != nil {
		t.Fatal(err)
	}

	g := newFixture(t, "127.0.0.1/32") // srtp: disable
	s2, err := g.m.Create(g.ctx, g.sc, session.CreateParams{Mode: "media_stream"})
	if err != nil {
		t.Fatal(err)
	}
	q := siptest.NewPhone(t, 0, 8000)
	if code := q.Call(g.ctx, g.srv.Addr(), s2.ID, sip.SecureSDP(q.Offer(sip.Supported[0]), sip.NewCrypto(1, "AES_CM_128_HMAC_SHA1_80"))); code != 488 {
		t.Fatalf("SAVP offer to an srtp: disable trunk answered %d", code)
	}
}

// TestOutboundSRTP: through a trunk with srtp: require, /dial offers only
// RTP/SAVP; a callee that answers with its key gets the tones both ways,
// and one that answers plain RTP is hung up as srtp_required.
func TestOutboundSRTP(t *testing.T) {
	require, host, udp := "require", "127.0.0.1", "udp"
	for _, tc := range []struct {
		name   string
		secure bool
	}{{"savp", true}, {"plain", false}} {
		t.Run(tc.name, func(t *testing.T) {
			c := siptest.StartCallee(t, siptest.CalleeConfig{Status: 200, SRTP: tc.secure})
			port := int(c.Addr.Port())
			f := newFixtureTrunk(t, session.TrunkParams{InboundCIDRs: &[]string{"127.0.0.1/32"}, SRTP: &require,
				OutboundHost: &host, OutboundPort: &port, Transport: &udp})
			trunks, err := f.m.AllTrunks(f.ctx)
			if err != nil {
				t.Fatal(err)
			}
			s, err := f.m.Create(f.ctx, f.sc, session.CreateParams{Mode: "media_stream"})
			if err != nil {
				t.Fatal(err)
			}
			sub, err := f.m.Subscribe(f.ctx, s.ID, session.SubscribeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			f.m.SetDialer(f.srv)
			call, err := f.m.Dial(f.ctx, f.sc, s.ID, session.DialParams{To: "+15551230000", TrunkID: trunks[0].ID})
			if err != nil {
				t.Fatal(err)
			}
			if offer, _ := sip.ParseSDP((<-c.Invites).Body()); !offer.Secure() || len(offer.Crypto) != 1 {
				t.Fatalf("offer through an srtp: require trunk: %+v", offer)
			}
			if !tc.secure {
				if got := f.waitCall(call.ID, session.CallFailed); got.HangupCause != "srtp_required" {
					t.Fatalf("plain answer: %+v", got)
				}
				return
			}
			<-c.Acks
			f.waitCall(call.ID, session.CallAnswered)
			twoWay(t, sub, c.Phone)
			if _, err := f.m.Hangup(f.ctx, f.sc, s.ID, call.ID); err != nil {
				t.Fatal(err)
			}
			f.waitCall(call.ID, session.CallEnded)
		})
	}
}
