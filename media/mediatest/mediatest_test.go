package mediatest

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/voxgate/voxgate/media"
)

func TestMeasureTone(t *testing.T) {
	tests := []struct {
		rate        int
		freq, level float64
		noise       float64 // dBFS RMS of added white noise, or NaN for none
		wantSNR     float64 // expected SNR, ±1.5 dB; Inf means "at least 70" (quantisation only)
	}{
		{8000, 1000, -3, math.NaN(), math.Inf(1)},
		{8000, 440, -20, math.NaN(), math.Inf(1)},
		{16000, 1234.5, -6, math.NaN(), math.Inf(1)},
		{48000, 3000, -10, -50, 37},   // sine power -13 dBFS(rms) vs noise -50: 37 dB
		{16000, 700, -3, -33, 27},     // -6 dBFS rms vs -33
		{24000, 5000, -1, -24.01, 20}, // -3.01 vs -23.01
	}
	for _, tt := range tests {
		rng := rand.New(rand.NewPCG(1, 2))
		x := Tone(tt.rate, tt.freq, tt.level, tt.rate/2)
		if !math.IsNaN(tt.noise) {
			sigma := Amplitude(tt.noise)
			for i := range x {
				x[i] = int16(max(-32768, min(32767, float64(x[i])+rng.NormFloat64()*sigma)))
			}
		}
		m := CheckTone(t, x, tt.rate, ToneWant{Freq: tt.freq, Level: tt.level, LevelTol: 0.05, FreqTol: 0.5})
		if math.IsInf(tt.wantSNR, 1) {
			if m.SNR < 70 {
				t.Errorf("%v: clean tone SNR %.1f dB, want ≥ 70", tt, m.SNR)
			}
		} else if math.Abs(m.SNR-tt.wantSNR) > 1.5 {
			t.Errorf("%v: SNR %.1f dB, want %.1f", tt, m.SNR, tt.wantSNR)
		}
	}
}

func TestCheckToneFails(t *testing.T) {
	x := Tone(16000, 1000, -6, 4000)
	tests := []struct {
		name string
		want ToneWant
	}{
		{"wrong frequency", ToneWant{Freq: 1100, Level: -6}},
		{"wrong level", ToneWant{Freq: 1000, Level: -3}},
		{"snr too low", ToneWant{Freq: 1000, Level: -6, MinSNR: 200}},
	}
	for _, tt := range tests {
		ft := &fakeTB{TB: t}
		CheckTone(ft, x, 16000, tt.want)
		if !ft.failed {
			t.Errorf("%s: CheckTone passed", tt.name)
		}
	}
}

type fakeTB struct {
	testing.TB
	failed bool
}

func (f *fakeTB) Helper()               {}
func (f *fakeTB) Errorf(string, ...any) { f.failed = true }

func TestGoertzel(t *testing.T) {
	x := Tone(8000, 1000, -10, 800) // whole number of periods
	if got := Goertzel(x, 8000, 1000); math.Abs(got+10) > 0.05 {
		t.Errorf("Goertzel at the tone = %.2f dBFS, want -10", got)
	}
	if got := Goertzel(x, 8000, 2000); got > -60 {
		t.Errorf("Goertzel off the tone = %.2f dBFS, want < -60", got)
	}
}

func TestSineContinuesAcrossFrames(t *testing.T) {
	s := NewSine(16000, 500, -6)
	var f media.Frame
	var all []int16
	for range 10 {
		if err := s.ReadFrame(&f); err != nil {
			t.Fatal(err)
		}
		if len(f.Samples) != 320 || f.Timestamp != uint32(len(all)) {
			t.Fatalf("frame of %d samples at ts %d after %d samples", len(f.Samples), f.Timestamp, len(all))
		}
		all = append(all, f.Samples...)
	}
	if !slices.Equal(all, Tone(16000, 500, -6, len(all))) {
		t.Error("framed sine differs from the one-shot tone")
	}
	fs := Frames(all, 16000)
	if len(fs) != 10 || fs[9].Timestamp != 9*320 {
		t.Errorf("Frames: %d frames, last at %d", len(fs), fs[len(fs)-1].Timestamp)
	}
}

func TestSink(t *testing.T) {
	var s Sink
	_ = s.WriteFrame(media.Frame{Samples: []int16{1, 2}})
	_ = s.WriteFrame(media.Frame{Payload: []byte{9}, Missing: true})
	total, missing := s.Frames()
	if total != 2 || missing != 1 || !slices.Equal(s.Samples(), []int16{1, 2}) || len(s.Payloads()) != 1 {
		t.Errorf("sink: %d frames, %d missing, samples %v, payloads %v", total, missing, s.Samples(), s.Payloads())
	}
}

func TestWAVRoundTrip(t *testing.T) {
	x := Tone(8000, 1000, -6, 101)
	var buf bytes.Buffer
	if err := WriteWAV(&buf, 8000, x); err != nil {
		t.Fatal(err)
	}
	rate, y, err := ReadWAV(&buf)
	if err != nil || rate != 8000 || !slices.Equal(x, y) {
		t.Fatalf("ReadWAV = %d, %d samples, %v", rate, len(y), err)
	}
	if _, _, err := ReadWAV(bytes.NewReader([]byte("RIFF\x00\x00\x00\x00WAVEjunk"))); err == nil {
		t.Error("ReadWAV accepted a truncated file")
	}
}

func TestFindTone(t *testing.T) {
	tests := []struct {
		rate  int
		onset int // samples of silence before the tone
		freq  float64
	}{
		{8000, 800, 1000},
		{16000, 4321, 440},
		{48000, 0, 2000},
	}
	for _, tt := range tests {
		x := append(make([]int16, tt.onset), Tone(tt.rate, tt.freq, -10, tt.rate/5)...)
		at, ok := FindTone(x, tt.rate, tt.freq, -16)
		if tol := tt.rate / 200; !ok || at < tt.onset-tol || at > tt.onset+tol {
			t.Errorf("%+v: FindTone = %d, %v; want %d ± %d", tt, at, ok, tt.onset, tol)
		}
		if _, ok := FindTone(x, tt.rate, tt.freq*1.5, -16); ok {
			t.Errorf("%+v: found a tone at %v Hz that is not there", tt, tt.freq*1.5)
		}
	}
}

func TestSimilarity(t *testing.T) {
	// A "sentence" of tone bursts, and the same one later in a longer take,
	// quieter; another rhythm correlates far less.
	burst := func(pattern string, level float64) []int16 {
		var x []int16
		for _, c := range pattern {
			if c == '#' {
				x = append(x, Tone(8000, 440, level, 800)...)
			} else {
				x = append(x, make([]int16, 800)...)
			}
		}
		return x
	}
	want := burst("##.#..###.#", -10)
	heard := append(make([]int16, 4000), burst("##.#..###.#", -16)...)
	if s := Similarity(heard, want, 8000); s < 0.99 {
		t.Errorf("same rhythm: %.3f", s)
	}
	if s := Similarity(burst("#.#.#.#.#.#.#", -10), want, 8000); s > 0.5 {
		t.Errorf("other rhythm: %.3f", s)
	}
	if v := Voiced(want, 8000); v < 0.6 || v > 0.8 {
		t.Errorf("voiced %.2f s, want 0.7", v)
	}
}

// OpusBandwidth reads RFC 6716's TOC configs: SILK, hybrid and CELT.
func TestOpusBandwidth(t *testing.T) {
	for config, want := range map[byte]int{0: 8000, 5: 12000, 11: 16000, 12: 24000, 15: 48000, 16: 8000, 21: 16000, 26: 24000, 31: 48000} {
		if got := OpusBandwidth([]byte{config<<3 | 1, 0}); got != want {
			t.Errorf("config %d: %d, want %d", config, got, want)
		}
	}
	if got := OpusBandwidth(nil); got != 0 {
		t.Errorf("empty packet: %d", got)
	}
}
