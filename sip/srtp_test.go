package sip_test

import (
	"testing"
	"time"

	"github.com/voxgate/voxgate/media/mediatest"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/session/sessiontest"
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
