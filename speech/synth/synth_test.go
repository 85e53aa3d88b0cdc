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
