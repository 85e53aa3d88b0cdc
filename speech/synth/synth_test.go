package synth

import (
	"context"
	"errors"
	"math"
	"testing"
)

// rms is the root mean square level of pcm.
func rms(pcm []int16) float64 {
	var sum float64
	for _, v := range pcm {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(max(1, len(pcm))))
}

func TestFliteSpeaks(t *testing.T) {
	f := NewFlite()
	text := "Good morning, thank you for calling the support line." // 9 words
	pcm, err := f.Synthesize(context.Background(), text, "en-US", "")
	if err != nil {
		t.Fatal(err)
	}
	secs := float64(len(pcm)) / Rate
	t.Logf("%.2f s, rms %.0f", secs, rms(pcm))
	// Speech at 2 to 5 words a second.
	if secs < 9.0/5 || secs > 9.0/2 {
		t.Errorf("duration %.2f s for 9 words", secs)
	}
	if rms(pcm) < 500 {
		t.Errorf("rms %.0f: no speech energy", rms(pcm))
	}
	if _, err := f.Synthesize(context.Background(), "hola", "es", ""); !errors.Is(err, ErrUnsupported) {
		t.Errorf("spanish: %v", err)
	}
	if pcm, err := f.Synthesize(context.Background(), " \x00", "en", ""); err != nil || len(pcm) != 0 {
		t.Errorf("empty: %d samples, %v", len(pcm), err)
	}
}

// BenchmarkFlite reports the real-time factor (synthesis time / audio time).
func BenchmarkFlite(b *testing.B) {
	f := NewFlite()
	var audio float64
	for b.Loop() {
		pcm, err := f.Synthesize(context.Background(), "Good morning, thank you for calling the support line.", "en", "")
		if err != nil {
			b.Fatal(err)
		}
		audio += float64(len(pcm)) / Rate
	}
	b.ReportMetric(b.Elapsed().Seconds()/audio, "rtf")
}

func TestESpeakSpeaks(t *testing.T) {
	e, err := NewESpeak()
	if err != nil {
		t.Fatal(err)
	}
	text := "Buenos días, gracias por llamar a la línea de ayuda." // 9 words
	pcm, err := e.Synthesize(context.Background(), text, "es", "")
	if err != nil {
		t.Fatal(err)
	}
	secs := float64(len(pcm)) / Rate
	t.Logf("%.2f s, rms %.0f", secs, rms(pcm))
	if secs < 9.0/5 || secs > 9.0/2 {
		t.Errorf("duration %.2f s for 9 words", secs)
	}
	if rms(pcm) < 500 {
		t.Errorf("rms %.0f: no speech energy", rms(pcm))
	}
	// The same sentence twice is nearly the same audio (espeak-ng keeps a
	// little state between sentences: a few ms differ).
	again, err := e.Synthesize(context.Background(), text, "es", "")
	if err != nil || math.Abs(float64(len(again)-len(pcm))) > Rate/100 || math.Abs(rms(again)-rms(pcm)) > 0.02*rms(pcm) {
		t.Errorf("second synthesis: %d samples (want %d), %v", len(again), len(pcm), err)
	}
	if _, err := e.Synthesize(context.Background(), "hola", "xx-nope", ""); !errors.Is(err, ErrUnsupported) {
		t.Errorf("unknown voice: %v", err)
	}
	o, err := NewOffline()
	if err != nil {
		t.Fatal(err)
	}
	if en, err := o.Synthesize(context.Background(), "hello there", "en", ""); err != nil || len(en) == 0 {
		t.Errorf("offline english: %d samples, %v", len(en), err)
	}
}
