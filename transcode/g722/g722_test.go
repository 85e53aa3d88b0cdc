package g722

import (
	"testing"

	"github.com/voxgate/voxgate/media/mediatest"
)

// settle is how much output to skip while the adaptive quantisers converge.
const settle = 1600 // 100 ms at 16 kHz

func roundTrip(t *testing.T, in []int16) []int16 {
	t.Helper()
	enc, dec := NewEncoder(), NewDecoder()
	data := make([]byte, (len(in)+1)/2)
	out := make([]int16, 2*len(data))
	// Code in 20 ms frames, as a call does.
	n := 0
	for off := 0; off < len(in); off += 320 {
		k, err := enc.Encode(in[off:min(off+320, len(in))], data[n:])
		if err != nil {
			t.Fatal(err)
		}
		n += k
	}
	if _, err := dec.Decode(data[:n], out); err != nil {
		t.Fatal(err)
	}
	return out[:2*n]
}

func TestToneThrough(t *testing.T) {
	tests := []struct {
		freq, level, minSNR float64
	}{
		{1020, -10, 40},
		{440, -20, 45},
		{3000, -6, 35},
		{6000, -12, 22}, // the high band has only 2 bits a sample
	}
	for _, tt := range tests {
		out := roundTrip(t, mediatest.Tone(16000, tt.freq, tt.level, 8000))
		m := mediatest.CheckTone(t, out[settle:], 16000, mediatest.ToneWant{Freq: tt.freq, Level: tt.level, MinSNR: tt.minSNR})
		t.Logf("%v Hz %v dBFS: %+v", tt.freq, tt.level, m)
	}
}

// TestStatesTrack checks the heart of ADPCM: the encoder's copy of the
// decoder state stays identical to the real decoder's, sample after sample.
func TestStatesTrack(t *testing.T) {
	enc, dec := NewEncoder(), NewDecoder()
	in := mediatest.Tone(16000, 1500, -3, 3200)
	for i, v := range mediatest.Tone(16000, 5500, -15, len(in)) {
		in[i] += v / 2
	}
	var code [1]byte
	var pcm [2]int16
	for i := 0; i < len(in); i += 2 {
		_, _ = enc.Encode(in[i:i+2], code[:])
		_, _ = dec.Decode(code[:], pcm[:])
		if enc.low != dec.low || enc.high != dec.high {
			t.Fatalf("states diverge at sample %d:\nenc %+v %+v\ndec %+v %+v", i, enc.low, enc.high, dec.low, dec.high)
		}
	}
}

func TestOddLengths(t *testing.T) {
	in := mediatest.Tone(16000, 1020, -10, 999)
	whole := NewEncoder()
	want := make([]byte, 500)
	n, _ := whole.Encode(in, want)
	split := NewEncoder()
	got := make([]byte, 500)
	m := 0
	for _, cut := range [][2]int{{0, 3}, {3, 4}, {4, 321}, {321, 999}} {
		k, err := split.Encode(in[cut[0]:cut[1]], got[m:])
		if err != nil {
			t.Fatal(err)
		}
		m += k
	}
	if n != 499 || m != n || string(got[:m]) != string(want[:n]) {
		t.Errorf("split encode differs: %d vs %d bytes", m, n)
	}
	if _, err := whole.Encode(in, make([]byte, 10)); err == nil {
		t.Error("Encode into a short buffer succeeded")
	}
	if _, err := NewDecoder().Decode(make([]byte, 10), make([]int16, 19)); err == nil {
		t.Error("Decode into a short buffer succeeded")
	}
}

func TestSilenceStaysQuiet(t *testing.T) {
	out := roundTrip(t, make([]int16, 3200))
	if l := mediatest.Level(out, 16000, 1000); l > -80 {
		t.Errorf("silence decodes with a 1 kHz component at %.1f dBFS", l)
	}
	for i, v := range out {
		if v > 16 || v < -16 {
			t.Fatalf("silence decodes to %d at sample %d", v, i)
		}
	}
}
