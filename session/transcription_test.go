package session_test

import (
	"encoding/json"
	"github.com/voxgate/voxgate/store"
	"strings"
	"testing"
	"time"

	"github.com/voxgate/voxgate/media/mediatest"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/session/sessiontest"
	_ "github.com/voxgate/voxgate/speech/transcribe/pocketsphinx"
	"github.com/voxgate/voxgate/speech/transcribe/transcribetest"
)

type transcriptMsg struct {
	SegmentID  string  `json:"segment_id"`
	Speaker    string  `json:"speaker"`
	Text       string  `json:"text"`
	StartMS    int64   `json:"start_ms"`
	EndMS      int64   `json:"end_ms"`
	Confidence float64 `json:"confidence"`
}

// TestTranscription speaks committed sentences into a transcription session
// as a client's 16 kHz audio: each sentence arrives as partials then a final,
// the finals are stored as the transcript's turns, and they are as good as
// pocketsphinx_continuous on the same recordings.
func TestTranscription(t *testing.T) {
	f := newFixture(t, session.Config{})
	id := f.session(session.ModeTranscription)
	sub := f.subscribe(id, session.SubscribeOptions{})
	all := transcribetest.Sentences(t)
	var refs, offline []string
	pause := make([]int16, session.Rate*4/5)
	for _, i := range []int{0, 1, 4} {
		refs = append(refs, all[i].Text)
		text, ok := transcribetest.Continuous(t, all[i].File)
		if !ok {
			t.Skip("pocketsphinx_continuous is not installed")
		}
		offline = append(offline, text)
		if err := sub.Input(session.SpeakerCustomer, append(pause, all[i].PCM...)); err != nil {
			t.Fatal(err)
		}
	}
	if err := sub.Input(session.SpeakerCustomer, make([]int16, session.Rate)); err != nil {
		t.Fatal(err)
	}

	partials := map[string]int{}
	var finals []string
	segments := 0
	deadline := time.After(60 * time.Second)
	events := sessiontest.Events(t, sub)
	for len(finals) < len(refs) || segments < len(refs) {
		select {
		case ev := <-events:
			switch ev.Type {
			case session.EventTranscriptPartial, session.EventTranscriptFinal:
				var m transcriptMsg
				if err := json.Unmarshal(ev.Data, &m); err != nil {
					t.Fatal(err)
				}
				if m.Speaker != "customer" || m.EndMS <= m.StartMS {
					t.Errorf("%s %+v: wrong speaker or times", ev.Type, m)
				}
				if ev.Type == session.EventTranscriptPartial {
					partials[m.SegmentID]++
					continue
				}
				if partials[m.SegmentID] == 0 {
					t.Errorf("final %+v without a partial before it", m)
				}
				finals = append(finals, m.Text)
			case session.EventTranscriptSegment:
				segments++
			case "session.error":
				t.Fatalf("session.error %s", ev.Data)
			}
		case <-deadline:
			t.Fatalf("finals %q, %d segments, after 60 s", finals, segments)
		}
	}
	live, off := transcribetest.WER(refs, finals), transcribetest.WER(refs, offline)
	t.Logf("WER live %.3f, pocketsphinx_continuous %.3f; finals %q", live, off, finals)
	if live > 0.20 || live > 1.2*off+1e-9 {
		t.Errorf("WER live %.3f, offline %.3f: want ≤ 0.20 and ≤ 1.2× offline", live, off)
	}

	if _, err := f.m.End(f.ctx, f.sc, id, session.EndExplicit); err != nil {
		t.Fatal(err)
	}
	tr, err := f.m.Transcript(f.ctx, f.sc, id)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Status != "completed" || len(tr.Turns) != len(refs) {
		t.Fatalf("transcript %+v, want %d completed turns", tr, len(refs))
	}
	for i, turn := range tr.Turns {
		if turn.Text != finals[i] || turn.Speaker != session.SpeakerCustomer {
			t.Errorf("turn %d %+v, final was %q", i, turn, finals[i])
		}
	}
	evs, err := f.st.SessionEvents(f.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if last := evs[len(evs)-1]; last.Type != session.EventTranscriptReady {
		t.Errorf("last event %s, want transcript.ready", last.Type)
	}
}

// TestTranscriptionUnavailable: a transcription session whose model is
// missing tells its clients and webhooks so, once, naming the engine, and
// its audio flows on.
func TestTranscriptionUnavailable(t *testing.T) {
	f := newFixture(t, session.Config{Transcription: session.TranscriptionConfig{Engine: "pocketsphinx", Model: t.TempDir()}})
	id := f.session(session.ModeTranscription)
	talker := f.subscribe(id, session.SubscribeOptions{})
	listener := f.subscribe(id, session.SubscribeOptions{})
	if err := talker.Input(session.SpeakerCustomer, mediatest.Tone(session.Rate, 440, -20, session.Rate)); err != nil {
		t.Fatal(err)
	}
	heard := sessiontest.Hear(t, listener, session.SpeakerCustomer, session.Rate/2)
	mediatest.CheckTone(t, heard[session.Rate/10:], session.Rate, mediatest.ToneWant{Freq: 440, Level: -20})
	// The engine fails as the session starts, maybe before a client is
	// there to hear it: the stored event (what webhooks deliver) is checked.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		evs, err := f.st.SessionEvents(f.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var errs []json.RawMessage
		for _, ev := range evs {
			if ev.Type == "session.error" {
				errs = append(errs, ev.Data)
			}
		}
		if len(errs) > 0 {
			time.Sleep(200 * time.Millisecond) // the other side's failure comes too, and must not be stored again
			if evs, _ = f.st.SessionEvents(f.ctx, id); countType(evs, "session.error") != 1 {
				t.Fatalf("%d session.error events stored, want 1", countType(evs, "session.error"))
			}
			var e struct{ Code, Message string }
			if err := json.Unmarshal(errs[0], &e); err != nil || e.Code != session.ErrCodeTranscriptionUnavailable || !strings.Contains(e.Message, "pocketsphinx") {
				t.Fatalf("session.error %s", errs[0])
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no session.error stored after 10 s")
		}
	}
}

// countType counts the events of a type.
func countType(evs []store.Event, typ string) int {
	n := 0
	for _, ev := range evs {
		if ev.Type == typ {
			n++
		}
	}
	return n
}
