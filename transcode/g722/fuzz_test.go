package g722

import "testing"

// FuzzDecode feeds arbitrary bytes to the decoder, then re-encodes what came
// out: neither may panic, and the output size is exact.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0xFF, 0x00, 0x80, 0x7F})
	f.Add(make([]byte, 160))
	f.Fuzz(func(t *testing.T, data []byte) {
		dec, enc := NewDecoder(), NewEncoder()
		pcm := make([]int16, 2*len(data))
		n, err := dec.Decode(data, pcm)
		if err != nil || n != 2*len(data) {
			t.Fatalf("decode: %d, %v", n, err)
		}
		back := make([]byte, len(data))
		if k, err := enc.Encode(pcm[:max(0, n-1)], back); err != nil || k != max(0, n-1)/2 {
			t.Fatalf("encode: %d, %v", k, err)
		}
	})
}
