package session_test

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/voxgate/voxgate/media/mediatest"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/session/sessiontest"
	"github.com/voxgate/voxgate/store"
)

// readWAV returns the channels of a canonical 16-bit PCM WAV file.
func readWAV(t *testing.T, path string) (rate int, chans [][]int16) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 44 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		t.Fatalf("%s is not a WAV file", path)
	}
	n := int(binary.LittleEndian.Uint16(b[22:24]))
	rate = int(binary.LittleEndian.Uint32(b[24:28]))
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:off+8]))
		off += 8
		if id != "data" {
			off += size
			continue
		}
		data := b[off:min(off+size, len(b))]
		chans = make([][]int16, n)
		for i := 0; i+2*n <= len(data); i += 2 * n {
			for c := range n {
				chans[c] = append(chans[c], int16(binary.LittleEndian.Uint16(data[i+2*c:])))
			}
		}
		return rate, chans
	}
	t.Fatalf("%s has no data chunk", path)
	return 0, nil
}

// A session with a tone on each side records a mixed file with both and a
// dual file with the customer left and the agent right; both become ready
// with recording.ready events when the session ends. With telephone legs
// only the files are at 8 kHz, recorded from the session's narrow band.
func TestRecordingMixedAndDual(t *testing.T) {
	t.Run("16 kHz", func(t *testing.T) { testRecordingMixedAndDual(t, session.Rate, sessiontest.NewToneLeg) })
	t.Run("8 kHz", func(t *testing.T) { testRecordingMixedAndDual(t, session.NarrowRate, sessiontest.NewNarrowToneLeg) })
}

func testRecordingMixedAndDual(t *testing.T, wantRate int, newLeg func(string, session.Speaker, float64, float64, int) *sessiontest.ToneLeg) {
	dir := t.TempDir()
	f := newFixture(t, session.Config{RecordingsDir: dir})
	s, err := f.m.Create(f.ctx, f.sc, session.CreateParams{Mode: "media_stream", Recording: &session.Recording{Enabled: true, Channels: "dual"}})
	if err != nil {
		t.Fatal(err)
	}
	customer := newLeg("call_c", session.SpeakerCustomer, 440, -12, 100)
	agent := newLeg("call_a", session.SpeakerAgent, 1000, -6, 100)
	for _, l := range []*sessiontest.ToneLeg{customer, agent} {
		if err := f.m.AddLeg(f.ctx, s.ID, l); err != nil {
			t.Fatal(err)
		}
	}
	// The rows exist (status recording) while the call runs.
	waitFor(t, func() bool {
		recs, _, err := f.m.ListRecordings(f.ctx, f.sc, s.ID, store.ListQuery{Limit: 10})
		return err == nil && len(recs) == 2 && recs[0].Status == session.RecordingRecording
	})
	sub := f.subscribe(s.ID, session.SubscribeOptions{})
	sessiontest.Hear(t, sub, session.SpeakerCustomer, 98*session.FrameSamples) // the tones have nearly played
	customer.Close(nil)
	agent.Close(nil)
	sessiontest.Next(t, sub, session.EventSessionEnded)

	// The files are finished right after the session's end.
	var recs []session.RecordingFile
	waitFor(t, func() bool {
		recs, _, _ = f.m.ListRecordings(f.ctx, f.sc, s.ID, store.ListQuery{Limit: 10})
		return len(recs) == 2 && recs[0].Status != session.RecordingRecording && recs[1].Status != session.RecordingRecording
	})
	byChannel := map[string]session.RecordingFile{}
	for _, r := range recs {
		if r.Status != session.RecordingReady || r.Duration == nil || *r.Duration < 1.7 || r.Size == nil || r.SampleRate != wantRate ||
			r.DownloadURL != "/v1/recordings/"+r.ID+"/audio" {
			t.Fatalf("recording %+v (%v s)", r, *r.Duration)
		}
		byChannel[r.Channel] = r
	}
	path := func(r session.RecordingFile) string {
		p, err := f.m.RecordingAudio(f.ctx, f.sc, r.ID, "wav")
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	rate, dual := readWAV(t, path(byChannel["dual"]))
	if rate != wantRate || len(dual) != 2 {
		t.Fatalf("dual: %d Hz, %d channels", rate, len(dual))
	}
	mid := func(x []int16) []int16 { return x[rate/2 : rate*3/2] }
	mediatest.CheckTone(t, mid(dual[0]), rate, mediatest.ToneWant{Freq: 440, Level: -12, MinSNR: 30})
	mediatest.CheckTone(t, mid(dual[1]), rate, mediatest.ToneWant{Freq: 1000, Level: -6, MinSNR: 30})
	if l := mediatest.Level(mid(dual[0]), rate, 1000); l > -60 {
		t.Fatalf("agent tone in the customer channel at %.1f dBFS", l)
	}
	_, mixed := readWAV(t, path(byChannel["mixed"]))
	if len(mixed) != 1 {
		t.Fatalf("mixed has %d channels", len(mixed))
	}
	for _, w := range []mediatest.ToneWant{{Freq: 440, Level: -12}, {Freq: 1000, Level: -6}} {
		if l := mediatest.Level(mid(mixed[0]), rate, w.Freq); l < w.Level-1 || l > w.Level+1 {
			t.Fatalf("mixed: %v Hz at %.1f dBFS, want %v", w.Freq, l, w.Level)
		}
	}

	evs, err := f.st.SessionEvents(f.ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	ready := 0
	for _, e := range evs {
		if e.Type == session.EventRecordingReady {
			ready++
		}
	}
	if ready != 2 {
		t.Fatalf("%d recording.ready events, want 2", ready)
	}
	// Another organization sees none of it.
	other := store.Scope{OrgID: "org_other", Livemode: true}
	if _, err := f.m.GetRecording(f.ctx, other, recs[0].ID); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("another org: %v", err)
	}
}

// Retention deletes recordings older than it, files and rows.
func TestRecordingRetention(t *testing.T) {
	dir := t.TempDir()
	f := newFixture(t, session.Config{RecordingsDir: dir, RecordingRetention: 48 * time.Hour})
	s, err := f.m.Create(f.ctx, f.sc, session.CreateParams{Mode: "media_stream", Recording: &session.Recording{Enabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	leg := sessiontest.NewToneLeg("call_c", session.SpeakerCustomer, 440, -12, 10)
	if err := f.m.AddLeg(f.ctx, s.ID, leg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		recs, _, _ := f.m.ListRecordings(f.ctx, f.sc, s.ID, store.ListQuery{Limit: 10})
		return len(recs) == 1
	})
	if _, err := f.m.End(f.ctx, f.sc, s.ID, session.EndExplicit); err != nil {
		t.Fatal(err)
	}
	recs, _, _ := f.m.ListRecordings(f.ctx, f.sc, s.ID, store.ListQuery{Limit: 10})
	if len(recs) != 1 || recs[0].Status != session.RecordingReady || recs[0].ExpiresAt == nil {
		t.Fatalf("recordings %+v", recs)
	}
	wav, err := f.m.RecordingAudio(f.ctx, f.sc, recs[0].ID, "wav")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := f.m.SweepRecordings(f.ctx); n != 0 || err != nil {
		t.Fatalf("swept %d young recordings: %v", n, err)
	}
	now := time.Now()
	f.st.SetClock(func() time.Time { return now.Add(49 * time.Hour) })
	if n, err := f.m.SweepRecordings(f.ctx); n != 1 || err != nil {
		t.Fatalf("swept %d: %v", n, err)
	}
	if _, err := os.Stat(wav); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("file still there: %v", err)
	}
	if _, err := os.Stat(filepath.Dir(wav)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("session directory still there: %v", err)
	}
	if _, err := f.m.GetRecording(f.ctx, f.sc, recs[0].ID); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("row still there: %v", err)
	}
}

// Stored turns make the transcript, in every format.
func TestTranscriptFormats(t *testing.T) {
	f := newFixture(t, session.Config{})
	id := f.session(session.ModeMediaStream)
	tr, err := f.m.Transcript(f.ctx, f.sc, id)
	if err != nil || tr.Status != "in_progress" || len(tr.Turns) != 0 || tr.ID != "trn_"+id {
		t.Fatalf("empty transcript %+v %v", tr, err)
	}
	for _, turn := range []session.Turn{
		{Speaker: session.SpeakerCustomer, Language: "en", Text: "Hello, I need help.", StartMS: 1200, EndMS: 2500, Confidence: 0.92,
			Translation: &session.Translation{Language: "es", Text: "Hola, necesito ayuda."}},
		{Speaker: session.SpeakerAgent, Language: "es", Text: "Claro --> <dígame>", StartMS: 3000, EndMS: 3754, Confidence: 0.8},
	} {
		if _, err := f.m.AddTurn(f.ctx, id, turn); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.m.End(f.ctx, f.sc, id, session.EndExplicit); err != nil {
		t.Fatal(err)
	}
	tr, err = f.m.Transcript(f.ctx, f.sc, id)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Status != "completed" || tr.Metadata.TotalTurns != 2 || tr.Turns[1].Sequence != 2 || tr.Metadata.DurationSeconds != 3.754 ||
		len(tr.Metadata.LanguagesDetected) != 2 || tr.Turns[0].Translation == nil || tr.Turns[0].Confidence != 0.92 {
		t.Fatalf("transcript %+v", tr)
	}
	for _, c := range []struct{ got, want string }{
		{tr.Text(), "[00:00:01] customer: Hello, I need help.\n    (es) Hola, necesito ayuda.\n[00:00:03] agent: Claro --> <dígame>\n"},
		{tr.SRT(), "1\n00:00:01,200 --> 00:00:02,500\ncustomer: Hello, I need help.\n\n2\n00:00:03,000 --> 00:00:03,754\nagent: Claro -> <dígame>\n\n"},
		{tr.VTT(), "WEBVTT\n\n1\n00:00:01.200 --> 00:00:02.500\n<v customer>Hello, I need help.\n\n2\n00:00:03.000 --> 00:00:03.754\n<v agent>Claro -&gt; &lt;dígame&gt;\n\n"},
	} {
		if c.got != c.want {
			t.Errorf("got\n%q\nwant\n%q", c.got, c.want)
		}
	}
	evs, _ := f.st.SessionEvents(f.ctx, id)
	segments := 0
	for _, e := range evs {
		if e.Type == session.EventTranscriptSegment {
			segments++
		}
	}
	if segments != 2 {
		t.Fatalf("%d transcript.segment events", segments)
	}
}
