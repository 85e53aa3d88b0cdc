package sip_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/voxgate/voxgate/media"
	"github.com/voxgate/voxgate/media/mediatest"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/session/sessiontest"
	"github.com/voxgate/voxgate/sip"
	"github.com/voxgate/voxgate/sip/siptest"
	"github.com/voxgate/voxgate/speech/synth"
	_ "github.com/voxgate/voxgate/speech/transcribe/pocketsphinx"
	"github.com/voxgate/voxgate/speech/translate"
	"github.com/voxgate/voxgate/transcode"
	"github.com/voxgate/voxgate/transcode/g711"
)

// listen records what a phone hears (μ-law) until the test ends.
func listen(p *siptest.Phone) func() []int16 {
	var mu sync.Mutex
	var heard []int16
	go func() {
		var f media.Frame
		for p.RTP.ReadFrame(&f) == nil {
			if f.Missing {
				continue
			}
			dec := make([]int16, len(f.Payload))
			g711.PCMU.Decode(f.Payload, dec)
			mu.Lock()
			heard = append(heard, dec...)
			mu.Unlock()
		}
	}()
	return func() []int16 {
		mu.Lock()
		defer mu.Unlock()
		return append([]int16(nil), heard...)
	}
}

// talk sends 16 kHz speech from a phone as μ-law in real time, then
// silence (a phone keeps sending) until ctx ends.
func talk(ctx context.Context, t *testing.T, p *siptest.Phone, pcm []int16) {
	r, err := transcode.NewResampler(session.Rate, 8000)
	if err != nil {
		t.Error(err)
		return
	}
	narrow := r.Resample(nil, pcm)
	enc, err := transcode.Chain(media.PCM16(8000), p.Format, media.WriterFunc(p.RTP.WriteFrame))
	if err != nil {
		t.Error(err)
		return
	}
	frame := make([]int16, 160)
	tk := time.NewTicker(20 * time.Millisecond)
	defer tk.Stop()
	for ts := 0; ; ts += 160 {
		select {
		case <-tk.C:
		case <-ctx.Done():
			return
		}
		clear(frame)
		if ts < len(narrow) {
			copy(frame, narrow[ts:])
		}
		_ = enc.WriteFrame(media.Frame{Samples: frame, Timestamp: uint32(ts)})
	}
}

// narrowband synthesizes text and brings it to 8 kHz, as a phone hears it.
func narrowband(t *testing.T, text, lang string) []int16 {
	s, err := synth.NewOffline()
	if err != nil {
		t.Fatal(err)
	}
	pcm, err := s.Synthesize(context.Background(), text, lang, "")
	if err != nil {
		t.Fatal(err)
	}
	r, _ := transcode.NewResampler(session.Rate, 8000)
	return r.Resample(nil, pcm)
}

// TestBidirectionalTranslationOverSIP: an English customer and a Spanish
// agent call into a bidirectional_translation session from two SIP phones
// (PCMU). The customer's English (flite) is recognized and the final
// carries Apertium's Spanish for it; the agent's phone hears that Spanish,
// spoken by espeak-ng: as long as an offline synthesis of it, and with the
// same level contour. The customer's phone hears nothing of its own voice.
func TestBidirectionalTranslationOverSIP(t *testing.T) {
	f := newFixtureSessions(t, session.TrunkParams{InboundCIDRs: &[]string{"127.0.0.1/32"}}, sip.Config{},
		session.Config{Languages: session.Languages{Transcribe: []string{"en", "es"}}})
	src, tgt := "en", "es"
	s, err := f.m.Create(f.ctx, f.sc, session.CreateParams{Mode: string(session.ModeBidirectionalTranslation), SourceLanguage: &src, TargetLanguage: &tgt})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := f.m.Subscribe(f.ctx, s.ID, session.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	customer, agent := siptest.NewPhone(t, 0, 8000), siptest.NewPhone(t, 0, 8000)
	if code := customer.Call(f.ctx, f.srv.Addr(), s.ID, customer.Offer(sip.Supported[0])); code != 200 {
		t.Fatalf("customer's INVITE answered %d", code)
	}
	if code := agent.Call(f.ctx, f.srv.Addr(), s.ID, agent.Offer(sip.Supported[0]), sipmsg.NewHeader("X-Voxgate-Speaker", "agent")); code != 200 {
		t.Fatalf("agent's INVITE answered %d", code)
	}
	toCustomer, toAgent := listen(customer), listen(agent)
	s16, err := synth.NewOffline()
	if err != nil {
		t.Fatal(err)
	}
	english, err := s16.Synthesize(f.ctx, "Good morning, thank you for calling the support line.", "en", "")
	if err != nil {
		t.Fatal(err)
	}
	phones, hangup := context.WithCancel(f.ctx)
	defer hangup()
	go talk(phones, t, customer, english)
	go talk(phones, t, agent, nil)

	var final struct {
		Speaker     string
		Text        string
		Translation *struct{ Language, Text string }
	}
	for final.Speaker != "customer" {
		ev := sessiontest.Next(t, sub, session.EventTranscriptFinal)
		if err := json.Unmarshal(ev.Data, &final); err != nil {
			t.Fatal(err)
		}
	}
	a, err := translate.NewApertium("")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	wantES, err := a.Translate(f.ctx, final.Text, "en", "es")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("customer said %q, translated %+v", final.Text, final.Translation)
	if final.Translation == nil || final.Translation.Language != "es" || final.Translation.Text != wantES {
		t.Fatalf("final %+v, want the translation %q", final, wantES)
	}
	offline := narrowband(t, wantES, "es")
	want := mediatest.Voiced(offline, 8000)
	for deadline := time.Now().Add(15 * time.Second); mediatest.Voiced(toAgent(), 8000) < 0.95*want; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the agent's phone heard %.2f s of speech, the translation is %.2f s", mediatest.Voiced(toAgent(), 8000), want)
		}
	}
	time.Sleep(300 * time.Millisecond) // the rest of it
	heard := toAgent()
	got := mediatest.Voiced(heard, 8000)
	sim := mediatest.Similarity(heard, offline, 8000)
	t.Logf("agent's phone heard %.2f s of speech (offline %.2f s), contour correlation %.3f", got, want, sim)
	if got > 1.2*want || sim < 0.85 {
		t.Errorf("agent's phone heard %.2f s of speech (want %.2f), contour correlation %.3f", got, want, sim)
	}
	if v := mediatest.Voiced(toCustomer(), 8000); v > 0 {
		t.Errorf("the customer's phone heard %.2f s of speech: its own voice came back", v)
	}
	// Both hang up (a test phone does not answer the gateway's BYE).
	for _, p := range []*siptest.Phone{customer, agent} {
		if err := p.Dialog.Bye(f.ctx); err != nil {
			t.Fatal(err)
		}
	}

}
