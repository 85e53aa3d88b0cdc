package transcode

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/voxgate/voxgate/media/mediatest"
)

func TestResampleTone(t *testing.T) {
	for _, from := range ResampleRates {
		for _, to := range ResampleRates {
			if from == to {
				continue
			}
			t.Run(fmt.Sprintf("%d-%d", from, to), func(t *testing.T) {
				r, err := NewResampler(from, to)
				if err != nil {
					t.Fatal(err)
				}
				// Tones in the band both rates share, framed in 20 ms: well
				// inside the passband, and near its edge (within 1 dB).
				for _, c := range []struct{ frac, tol, snr float64 }{{0.3, 0.1, 50}, {0.425, 1, 30}} {
					freq := c.frac * float64(min(from, to))
					r.Reset()
					in := mediatest.Tone(from, freq, -6, from/2)
					var out []int16
					for _, f := range mediatest.Frames(in, from) {
						n := len(out)
						out = r.Resample(out, f.Samples)
						if got, want := len(out)-n, len(f.Samples)*to/from; got != want {
							t.Fatalf("20 ms in, %d samples out, want %d", got, want)
						}
					}
					m := mediatest.CheckTone(t, out[to/50:], to, mediatest.ToneWant{Freq: freq, Level: -6, LevelTol: c.tol, MinSNR: c.snr})
					t.Logf("%.0f Hz: %+v", freq, m)
				}
			})
		}
	}
}

// TestResampleRejects checks the low-pass filter: a tone above the lower
// Nyquist frequency is removed, not aliased or imaged.
func TestResampleRejects(t *testing.T) {
	tests := []struct {
		from, to int
		freq     float64 // input tone
		alias    float64 // where it would land without the filter
	}{
		{48000, 8000, 6000, 2000},
		{16000, 8000, 5000, 3000},
		{48000, 16000, 12000, 4000},
		{24000, 16000, 9500, 6500},
	}
	for _, tt := range tests {
		r, _ := NewResampler(tt.from, tt.to)
		out := r.Resample(nil, mediatest.Tone(tt.from, tt.freq, -6, tt.from/4))
		if l := mediatest.Level(out[tt.to/50:], tt.to, tt.alias); l > -60 {
			t.Errorf("%d->%d: %v Hz aliased to %v Hz at %.1f dBFS", tt.from, tt.to, tt.freq, tt.alias, l)
		}
	}
	// Upsampling: the image of a 3 kHz tone at 8 kHz lands at 5 kHz.
	r, _ := NewResampler(8000, 16000)
	out := r.Resample(nil, mediatest.Tone(8000, 3000, -6, 2000))
	if l := mediatest.Level(out[320:], 16000, 5000); l > -55 {
		t.Errorf("8000->16000: image of 3000 Hz at 5000 Hz is %.1f dBFS", l)
	}
}

// TestResampleFrameBoundaries checks that state carries across calls: any
// cutting of the input gives the same output as one call, so frames join
// without clicks.
func TestResampleFrameBoundaries(t *testing.T) {
	in := mediatest.Tone(16000, 1234, -3, 1000)
	whole, _ := NewResampler(16000, 24000)
	want := whole.Resample(nil, in)
	cut, _ := NewResampler(16000, 24000)
	var got []int16
	for off, n := 0, 1; off < len(in); off, n = off+n, n*2+1 {
		got = cut.Resample(got, in[off:min(off+n, len(in))])
	}
	if !slices.Equal(got, want) {
		t.Errorf("cut input resampled differently (%d vs %d samples)", len(got), len(want))
	}
	cut.Reset()
	if again := cut.Resample(nil, in); !slices.Equal(again, want) {
		t.Error("Reset did not restore the initial state")
	}
}

// TestResampleSkip checks that skipped input leaves the filter where
// converting it would have: what follows comes out as from the whole.
func TestResampleSkip(t *testing.T) {
	for _, c := range []struct{ from, to int }{{8000, 16000}, {16000, 8000}, {48000, 16000}, {16000, 24000}} {
		in := mediatest.Tone(c.from, 1234, -3, c.from/5)
		whole, _ := NewResampler(c.from, c.to)
		want := whole.Resample(nil, in)
		skipping, _ := NewResampler(c.from, c.to)
		var got []int16
		frame := c.from / 50
		for i, f := range mediatest.Frames(in, c.from) {
			if i%3 == 1 || (i > 4 && i%5 == 0) {
				skipping.Skip(f.Samples[:frame/3]) // cut where the phases do not line up
				skipping.Skip(f.Samples[frame/3:])
				got = append(got, want[len(got):len(got)+frame*c.to/c.from]...)
				continue
			}
			got = skipping.Resample(got, f.Samples)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%d→%d: output after skipped frames differs from the whole's", c.from, c.to)
		}
	}
}

func TestResamplePassesInputThrough(t *testing.T) {
	// Upsampling by an integer factor with a Nyquist filter keeps every
	// input sample (delayed) among the outputs.
	r, _ := NewResampler(8000, 24000)
	in := mediatest.Tone(8000, 700, -6, 400)
	out := r.Resample(nil, in)
	delay := zeroCrossingsUp * 3 // centre of the prototype, in output samples
	for i := range 300 {
		if out[delay+3*i] != in[i] {
			t.Fatalf("input %d = %d, output %d = %d", i, in[i], delay+3*i, out[delay+3*i])
		}
	}
}

func TestResamplerErrors(t *testing.T) {
	for _, rates := range [][2]int{{8000, 44100}, {11025, 8000}, {0, 8000}} {
		if _, err := NewResampler(rates[0], rates[1]); err == nil {
			t.Errorf("NewResampler(%d, %d) succeeded", rates[0], rates[1])
		}
	}
	r, _ := NewResampler(48000, 8000)
	if r.String() != "Resample(48000->8000)" {
		t.Errorf("String = %q", r)
	}
	// Full-scale square waves overshoot (Gibbs); the output saturates
	// instead of wrapping round.
	sq := make([]int16, 960)
	for i := range sq {
		sq[i] = math.MaxInt16
		if i/80%2 == 1 {
			sq[i] = math.MinInt16
		}
	}
	up, _ := NewResampler(8000, 48000)
	out := up.Resample(nil, sq)
	delay := zeroCrossingsUp * 6
	for k := 1; k < 10; k++ {
		mid := delay + 6*(80*k+40)
		if v := out[mid]; (k%2 == 0) != (v > 30000) || (k%2 == 1) != (v < -30000) {
			t.Errorf("square wave half-period %d: middle sample %d", k, v)
		}
	}
	for _, c := range []struct {
		in   float32
		want int16
	}{{40000, 32767}, {-40000, -32768}, {1.5, 2}, {-1.5, -2}, {0.49, 0}, {-0.51, -1}, {-32767.6, -32768}, {float32(math.Inf(1)), 32767}} {
		if got := toInt16(c.in); got != c.want {
			t.Errorf("toInt16(%v) = %d, want %d", c.in, got, c.want)
		}
	}
}

// TestResampleSpeechRate converts espeak-ng's 22050 Hz to the session rate:
// 20 ms in gives 20 ms out, a speech-band tone keeps its level, and one
// above 8 kHz is removed, not aliased.
func TestResampleSpeechRate(t *testing.T) {
	r, err := NewResampler(SpeechRate, 16000)
	if err != nil {
		t.Fatal(err)
	}
	in := mediatest.Tone(SpeechRate, 1500, -6, SpeechRate/2)
	var out []int16
	for _, f := range mediatest.Frames(in, SpeechRate) {
		n := len(out)
		if out = r.Resample(out, f.Samples); len(out)-n != 320 {
			t.Fatalf("20 ms in, %d samples out, want 320", len(out)-n)
		}
	}
	mediatest.CheckTone(t, out[320:], 16000, mediatest.ToneWant{Freq: 1500, Level: -6, LevelTol: 0.1, MinSNR: 50})
	r.Reset()
	out = r.Resample(nil, mediatest.Tone(SpeechRate, 10000, -6, SpeechRate/4))
	if l := mediatest.Level(out[320:], 16000, 6000); l > -60 {
		t.Errorf("10 kHz aliased to 6 kHz at %.1f dBFS", l)
	}
}
