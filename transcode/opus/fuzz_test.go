//go:build cgo

package opus

import "testing"

// FuzzDecode feeds arbitrary packets to the decoder, with a concealed frame
// after each: libopus must reject or decode them without crashing, and never
// report more samples than the buffer holds.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{0xF8, 0xFF, 0xFE})       // CELT FB 20 ms, tiny
	f.Add([]byte{0x0B, 0x00, 0x00, 0x00}) // SILK NB 60 ms
	f.Add([]byte{0xFF, 0x03})             // code 3, bad count
	dec, err := NewDecoder(16000)
	if err != nil {
		f.Fatal(err)
	}
	pcm := make([]int16, 1920)
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := dec.Decode(data, pcm)
		if err == nil && (n < 0 || n > len(pcm)) {
			t.Fatalf("decoded %d samples into %d", n, len(pcm))
		}
		if _, err := dec.Conceal(pcm[:320]); err != nil {
			t.Fatal(err)
		}
	})
}
