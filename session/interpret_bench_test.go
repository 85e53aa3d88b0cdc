package session_test

import (
	"context"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/voxgate/voxgate/media/mediatest"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/speech/transcribe/transcribetest"
	"github.com/voxgate/voxgate/store"
	"github.com/voxgate/voxgate/store/storetest"
)

// BenchmarkTranslationLatency plays the committed sentences, one per
// iteration, into the customer leg of a bidirectional_translation session
// (English to Spanish) in real time, and measures the time from the end of
// each sentence's audio to the first frame of its Spanish translation at
// the agent: the end-of-turn silence (700 ms), recognition, translation and
// synthesis. It reports the median and 95th percentile, and the process's
// CPU time per minute of translated speech played (recognition of both
// sides included; Apertium's processes, children, are not counted). The
// first sentence warms the engines up, untimed.
func BenchmarkTranslationLatency(b *testing.B) {
	st := storetest.OpenConfig(b, store.Config{DataDir: b.TempDir()})
	m, err := session.NewManager(session.Config{PublicURL: "http://127.0.0.1:8080", SIPHost: "127.0.0.1",
		Languages: session.Languages{Transcribe: []string{"en", "es"}}}, st, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	sc := store.Scope{OrgID: "org_bench", Livemode: true}
	src, tgt := "en", "es"
	s, err := m.Create(ctx, sc, session.CreateParams{Mode: string(session.ModeBidirectionalTranslation), SourceLanguage: &src, TargetLanguage: &tgt})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _, _ = m.End(context.Background(), sc, s.ID, session.EndExplicit) }()
	sub, err := m.Subscribe(ctx, s.ID, session.SubscribeOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Close()
	customer, agent := newPipeLeg("call_c", session.SpeakerCustomer), newPipeLeg("call_a", session.SpeakerAgent)
	for _, l := range []*pipeLeg{customer, agent} {
		if err := m.AddLeg(ctx, s.ID, l); err != nil {
			b.Fatal(err)
		}
	}
	// Frames of the customer's translated track as the subscriber gets
	// them, in the same tick as the agent leg.
	frames := make(chan time.Time, 1<<14)
	go func() {
		var f session.AudioFrame
		for {
			for sub.NextAudio(&f) {
				if f.Speaker == session.SpeakerCustomer && f.Track == session.Translated {
					frames <- time.Now()
				}
			}
			select {
			case <-sub.AudioReady():
			case <-sub.Done():
				close(frames)
				return
			}
		}
	}()
	sentences := transcribetest.Sentences(b)
	// turn says sentence i and waits for its translation to play out; it
	// returns the latency and the frames played.
	turn := func(i int) (time.Duration, int) {
		pcm := sentences[i%len(sentences)].PCM
		env := mediatest.Envelope(pcm, session.Rate)
		tail := len(env) - 1
		for tail > 0 && env[tail] < -40 {
			tail--
		}
		trailing := time.Duration(len(env)-1-tail) * 20 * time.Millisecond // silence in the file after the speech
		say(customer, pcm[:len(pcm):len(pcm)])                             // then a second of silence
		end := time.Now().Add(-time.Second - trailing)
		first, ok := <-frames
		if !ok {
			b.Fatal("session ended")
		}
		n := 1
		// The rest of the translation plays out (frames stop for 300 ms).
		for quiet := time.After(300 * time.Millisecond); ; {
			select {
			case <-frames:
				n++
				quiet = time.After(300 * time.Millisecond)
				continue
			case <-quiet:
			}
			break
		}
		return first.Sub(end), n
	}
	turn(len(sentences) - 1) // warm: models loaded, pipelines started
	var lat []time.Duration
	played := 0
	cpu0 := cpuTime()
	for i := 0; b.Loop(); i++ {
		d, n := turn(i)
		lat = append(lat, d)
		played += n
	}
	cpu := cpuTime() - cpu0
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50-ms")
	b.ReportMetric(float64(lat[(len(lat)*95+99)/100-1].Milliseconds()), "p95-ms")
	minutes := float64(played) * 0.02 / 60
	b.ReportMetric(cpu.Seconds()/minutes, "cpu-s/translated-min")
	b.Logf("%d turns, %.1f s of translated speech, latencies %v", len(lat), minutes*60, lat)
}

// cpuTime is the process's user and system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
