package g711

import (
	"encoding/binary"
	"testing"
)

// FuzzG711 decodes and encodes arbitrary payloads of any length with both
// laws: no panic, and a decoded frame re-encodes to codes of the same value.
func FuzzG711(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0xFF})
	f.Add([]byte{0x00, 0x7F, 0x80, 0xD5, 0x55})
	f.Fuzz(func(t *testing.T, data []byte) {
		pcm := make([]int16, len(data))
		back := make([]byte, len(data))
		for _, law := range []Law{PCMU, PCMA} {
			n, err := law.Decode(data, pcm)
			if err != nil || n != len(data) {
				t.Fatalf("%v decode: %d, %v", law, n, err)
			}
			if _, err := law.Encode(pcm, back); err != nil {
				t.Fatal(err)
			}
			for i := range data {
				if a, b := law.decodeOne(data[i]), law.decodeOne(back[i]); a != b {
					t.Fatalf("%v: %#02x -> %d -> %#02x -> %d", law, data[i], a, back[i], b)
				}
			}
			// The same bytes as little-endian samples; an odd byte is dropped.
			samples := make([]int16, len(data)/2)
			for i := range samples {
				samples[i] = int16(binary.LittleEndian.Uint16(data[2*i:]))
			}
			if _, err := law.Encode(samples, back); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func (l Law) decodeOne(b byte) int16 {
	if l == PCMU {
		return DecodeULaw(b)
	}
	return DecodeALaw(b)
}
