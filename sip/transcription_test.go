package sip_test

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/voxgate/voxgate/media"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/session/sessiontest"
	"github.com/voxgate/voxgate/sip"
	"github.com/voxgate/voxgate/sip/siptest"
	_ "github.com/voxgate/voxgate/speech/transcribe/pocketsphinx"
	"github.com/voxgate/voxgate/speech/transcribe/transcribetest"
	"github.com/voxgate/voxgate/store"
)

// callLegs are the SIP legs speech is transcribed through: wideband G.722
// and narrowband G.711 μ-law.
var callLegs = map[string]struct {
	codec  sip.Codec
	format media.Format
}{
	"G722": {sip.Supported[2], media.Format{Codec: media.CodecG722, SampleRate: 16000, Channels: 1}},
	"PCMU": {sip.Supported[0], media.Format{Codec: media.CodecPCMU, SampleRate: 8000, Channels: 1}},
}

// transcribeCall has a phone call a transcription session over leg and
// say the sentences, then hang up; it checks that the session's subscriber
// got a partial before each final, and returns the texts of the session's
// transcript once it is ready (a last final the recognizer finishes after
// the caller hung up is in it, not sent live).
func transcribeCall(t *testing.T, f *fixture, leg string, says []transcribetest.Sentence) []string {
	t.Helper()
	var said time.Duration
	for _, s := range says {
		said += time.Second*time.Duration(len(s.PCM))/session.Rate + time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*said+60*time.Second) // f.ctx is too short for every sentence
	defer cancel()
	s, err := f.m.Create(ctx, f.sc, session.CreateParams{Mode: string(session.ModeTranscription)})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := f.m.Subscribe(ctx, s.ID, session.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	l := callLegs[leg]
	p := siptest.NewPhone(t, l.codec.PayloadType, l.codec.ClockRate)
	p.Format = l.format
	if code := p.Call(ctx, f.srv.Addr(), s.ID, p.Offer(l.codec)); code != 200 {
		t.Fatalf("INVITE answered %d", code)
	}
	go func() {
		pause := make([]int16, session.Rate*4/5)
		for _, s := range says {
			p.SendPCM(append(pause, s.PCM...), session.Rate)
		}
		p.SendPCM(make([]int16, session.Rate), session.Rate) // the last turn ends
		if err := p.Dialog.Bye(ctx); err != nil {
			t.Error(err)
		}
	}()

	partials := map[string]int{}
	var finals []string
	events := sessiontest.Events(t, sub)
	for {
		select {
		case ev := <-events:
			switch ev.Type {
			case session.EventTranscriptPartial, session.EventTranscriptFinal:
				var m struct {
					SegmentID string `json:"segment_id"`
					Speaker   string `json:"speaker"`
					Text      string `json:"text"`
				}
				if err := json.Unmarshal(ev.Data, &m); err != nil {
					t.Fatal(err)
				}
				if m.Speaker != string(session.SpeakerCustomer) {
					t.Errorf("%s %+v: the caller is the customer", ev.Type, m)
				}
				if ev.Type == session.EventTranscriptPartial {
					partials[m.SegmentID]++
					continue
				}
				if partials[m.SegmentID] == 0 {
					t.Errorf("final %+v without a partial before it", m)
				}
				finals = append(finals, m.Text)
			case "session.error":
				t.Fatalf("session.error %s", ev.Data)
			case session.EventSessionEnded:
				return readyTranscript(ctx, t, f, s.ID)
			}
		case <-ctx.Done():
			t.Fatalf("%s call: finals %q and no end", leg, finals)
		}
	}
}

// TestTranscribedCall calls a transcription session over G.722 and says
// three committed sentences: each comes as partials then a final, as good
// as pocketsphinx_continuous on the same recordings.
func TestTranscribedCall(t *testing.T) {
	all := transcribetest.Sentences(t)
	says := []transcribetest.Sentence{all[4], all[8], all[9]}
	var refs, offline []string
	for _, s := range says {
		text, ok := transcribetest.Continuous(t, s.File)
		if !ok {
			t.Skip("pocketsphinx_continuous is not installed")
		}
		refs, offline = append(refs, s.Text), append(offline, text)
	}
	f := newFixture(t, "127.0.0.1/32")
	finals := transcribeCall(t, f, "G722", says)
	live, off := callWER(refs, finals), callWER(refs, offline)
	t.Logf("G.722 call: WER %.3f, pocketsphinx_continuous %.3f; finals %q", live, off, finals)
	// Three sentences are a small sample: one word more than 1.2× offline
	// is let through (the tick a turn starts on varies with the network).
	words := len(strings.Fields(strings.Join(refs, " ")))
	if live > 0.20 || live > 1.2*off+1/float64(words)+1e-9 {
		t.Errorf("WER %.3f over a G.722 call, offline %.3f: want ≤ 0.20 and ≤ 1.2× offline", live, off)
	}
}

// TestTranscribedNarrowbandCall calls a transcription session over G.711
// μ-law and says three committed sentences: the caller's 8 kHz speech is
// recognized with the model adapted to telephone audio, partials before
// each final, within the narrowband target of 40 % (BENCHMARKS.md).
func TestTranscribedNarrowbandCall(t *testing.T) {
	all := transcribetest.Sentences(t)
	says := []transcribetest.Sentence{all[2], all[8], all[18]}
	var refs []string
	for _, s := range says {
		refs = append(refs, s.Text)
	}
	f := newFixtureSessions(t, session.TrunkParams{InboundCIDRs: &[]string{"127.0.0.1/32"}}, sip.Config{},
		session.Config{Transcription: session.TranscriptionConfig{NarrowbandModel: transcribetest.NarrowbandModel()}})
	finals := transcribeCall(t, f, "PCMU", says)
	wer := callWER(refs, finals)
	t.Logf("G.711 call: WER %.3f; finals %q", wer, finals)
	if wer > 0.40 {
		t.Errorf("WER %.3f over a G.711 call: want ≤ 0.40", wer)
	}
}

// TestTranscribedCallWER says every committed sentence over a G.722 and a
// G.711 call, at once, and logs the word error rate of each (BENCHMARKS.md);
// the G.711 call is recognized with the model in VOXGATE_WER_SWEEP_MODEL
// when set (else the wideband one). It takes the sentences' real time
// (≈80 s), so it runs only when VOXGATE_WER_SWEEP is set.
func TestTranscribedCallWER(t *testing.T) {
	if os.Getenv("VOXGATE_WER_SWEEP") == "" {
		t.Skip("set VOXGATE_WER_SWEEP=1 to measure")
	}
	all := transcribetest.Sentences(t)
	var refs []string
	for _, s := range all {
		refs = append(refs, s.Text)
	}
	f := newFixtureSessions(t, session.TrunkParams{InboundCIDRs: &[]string{"127.0.0.1/32"}}, sip.Config{},
		session.Config{Transcription: session.TranscriptionConfig{NarrowbandModel: os.Getenv("VOXGATE_WER_SWEEP_MODEL")}})
	for _, leg := range []string{"G722", "PCMU"} {
		t.Run(leg, func(t *testing.T) {
			t.Parallel()
			finals := transcribeCall(t, f, leg, all)
			t.Logf("%s call: WER %.3f over %d sentences; %d finals %q", leg, callWER(refs, finals), len(refs), len(finals), finals)
		})
	}
}

// readyTranscript waits for an ended session's transcript.ready and
// returns the texts of its turns.
func readyTranscript(ctx context.Context, t *testing.T, f *fixture, id string) []string {
	t.Helper()
	for ctx.Err() == nil {
		// Not necessarily the last event: the call's own end (call.ended)
		// may be stored after it.
		evs, err := f.st.SessionEvents(ctx, id)
		if err == nil && slices.ContainsFunc(evs, func(e store.Event) bool { return e.Type == session.EventTranscriptReady }) {
			tr, err := f.m.Transcript(ctx, f.sc, id)
			if err != nil {
				t.Fatal(err)
			}
			var texts []string
			for _, turn := range tr.Turns {
				texts = append(texts, turn.Text)
			}
			return texts
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no transcript.ready")
	return nil
}

// callWER is the word error rate of a call's finals against what it said,
// each taken as one text: a sentence may come as two turns, or two as one.
func callWER(said, heard []string) float64 {
	return transcribetest.WER([]string{strings.Join(said, " ")}, []string{strings.Join(heard, " ")})
}
