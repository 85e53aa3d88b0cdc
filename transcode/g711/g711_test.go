package g711

import (
	"math"
	"testing"

	"github.com/voxgate/voxgate/media/mediatest"
)

// Reference pairs from ITU-T G.711 tables 1 and 2 (decoder outputs scaled to
// 16 bits, as G.191's g711.c does) and from G.191's encoder.
func TestReferenceValues(t *testing.T) {
	decode := []struct {
		law  Law
		code byte
		want int16
	}{
		{PCMU, 0xFF, 0}, {PCMU, 0x7F, 0}, {PCMU, 0xFE, 8}, {PCMU, 0x7E, -8},
		{PCMU, 0xF0, 120}, {PCMU, 0xEF, 132}, {PCMU, 0xDF, 396}, {PCMU, 0xCF, 924},
		{PCMU, 0x80, 32124}, {PCMU, 0x00, -32124}, {PCMU, 0x8F, 16764}, {PCMU, 0x90, 15996},
		{PCMA, 0xD5, 8}, {PCMA, 0x55, -8}, {PCMA, 0xD4, 24}, {PCMA, 0xC5, 264},
		{PCMA, 0xAA, 32256}, {PCMA, 0x2A, -32256}, {PCMA, 0xA5, 16896}, {PCMA, 0xD0, 88},
	}
	for _, tt := range decode {
		var pcm [1]int16
		if _, err := tt.law.Decode([]byte{tt.code}, pcm[:]); err != nil || pcm[0] != tt.want {
			t.Errorf("%v decode %#02x = %d, %v; want %d", tt.law, tt.code, pcm[0], err, tt.want)
		}
	}
	encode := []struct {
		law  Law
		in   int16
		want byte
	}{
		{PCMU, 0, 0xFF}, {PCMU, 3, 0xFF}, {PCMU, 4, 0xFE}, {PCMU, -1, 0x7F}, {PCMU, -5, 0x7E},
		{PCMU, 32767, 0x80}, {PCMU, -32768, 0x00}, {PCMU, 32124, 0x80}, {PCMU, 1000, 0xCE},
		{PCMA, 0, 0xD5}, {PCMA, 15, 0xD5}, {PCMA, 16, 0xD4}, {PCMA, -1, 0x55}, {PCMA, -17, 0x54},
		{PCMA, 32767, 0xAA}, {PCMA, -32768, 0x2A}, {PCMA, 1000, 0xFA},
	}
	for _, tt := range encode {
		var data [1]byte
		if _, err := tt.law.Encode([]int16{tt.in}, data[:]); err != nil || data[0] != tt.want {
			t.Errorf("%v encode %d = %#02x, %v; want %#02x", tt.law, tt.in, data[0], err, tt.want)
		}
	}
}

// TestQuantiser checks every 16-bit input against the shape of the G.711
// quantiser: monotonic, within half a step of the input, and every code
// reproduced by re-encoding its own value.
func TestQuantiser(t *testing.T) {
	laws := []struct {
		law     Law
		enc     func(int16) byte
		dec     func(byte) int16
		max     int16 // largest output level
		negZero byte  // the code that decodes to -0, re-encoded as +0
	}{
		{PCMU, EncodeULaw, DecodeULaw, 32124, 0x7F},
		{PCMA, EncodeALaw, DecodeALaw, 32256, 0},
	}
	for _, l := range laws {
		prev := int16(math.MinInt16)
		for x := math.MinInt16; x <= math.MaxInt16; x++ {
			y := l.dec(l.enc(int16(x)))
			if y < prev {
				t.Fatalf("%v: not monotonic at %d: %d after %d", l.law, x, y, prev)
			}
			prev = y
			step := max(16, int(abs(y))/16) // a segment's step is 1/16 of its range
			if abs(int16(x)) <= l.max && abs(int16(int(x)-int(y))) > int16(step/2+8) {
				t.Fatalf("%v: %d decodes back as %d, step %d", l.law, x, y, step)
			}
		}
		for c := range 256 {
			if code := byte(c); code != l.negZero || l.negZero == 0 {
				if got := l.enc(l.dec(code)); got != code && l.dec(got) != l.dec(code) {
					t.Errorf("%v: code %#02x re-encodes as %#02x", l.law, code, got)
				}
			}
		}
	}
}

func abs(x int16) int16 {
	if x < 0 {
		return -x
	}
	return x
}

func TestToneThrough(t *testing.T) {
	tests := []struct {
		law    Law
		freq   float64
		level  float64
		minSNR float64
	}{
		{PCMU, 1020, -3, 35}, // 1020 Hz, not 1000: a test tone must not divide the rate
		{PCMA, 1020, -3, 35},
		{PCMU, 440, -20, 33},
		{PCMA, 2900, -10, 33},
	}
	for _, tt := range tests {
		in := mediatest.Tone(8000, tt.freq, tt.level, 4000)
		data := make([]byte, len(in))
		out := make([]int16, len(in))
		if _, err := tt.law.Encode(in, data); err != nil {
			t.Fatal(err)
		}
		if _, err := tt.law.Decode(data, out); err != nil {
			t.Fatal(err)
		}
		m := mediatest.CheckTone(t, out, 8000, mediatest.ToneWant{Freq: tt.freq, Level: tt.level, MinSNR: tt.minSNR})
		t.Logf("%v %v Hz %v dBFS: %+v", tt.law, tt.freq, tt.level, m)
	}
}

func TestErrors(t *testing.T) {
	if _, err := PCMU.Encode(make([]int16, 3), make([]byte, 2)); err == nil {
		t.Error("Encode into a short buffer succeeded")
	}
	if _, err := PCMA.Decode(make([]byte, 3), make([]int16, 2)); err == nil {
		t.Error("Decode into a short buffer succeeded")
	}
	if _, err := Law(0).Decode(nil, nil); err == nil {
		t.Error("invalid law decoded")
	}
	if PCMU.String() != "PCMU" || PCMA.String() != "PCMA" {
		t.Error("String")
	}
}
