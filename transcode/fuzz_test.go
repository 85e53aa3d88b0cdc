package transcode

import (
	"encoding/binary"
	"testing"

	"github.com/voxgate/voxgate/media"
)

// FuzzResample converts random samples between random rates of
// ResampleRates in pieces of random (often odd) lengths: no panic, and the
// output never exceeds OutLen.
func FuzzResample(f *testing.F) {
	f.Add(byte(0), byte(1), []byte{1, 2, 3, 4, 5})
	f.Add(byte(3), byte(0), make([]byte, 961))
	f.Add(byte(2), byte(1), []byte{0xFF, 0x7F, 0x00, 0x80, 0x01})
	f.Fuzz(func(t *testing.T, a, b byte, data []byte) {
		from, to := ResampleRates[int(a)%len(ResampleRates)], ResampleRates[int(b)%len(ResampleRates)]
		if from == to {
			return
		}
		r, err := NewResampler(from, to)
		if err != nil {
			t.Fatal(err)
		}
		for len(data) > 0 {
			n := min(int(data[0])+1, (len(data)-1)/2)
			data = data[1:]
			src := make([]int16, n)
			for i := range src {
				src[i] = int16(binary.LittleEndian.Uint16(data[2*i:]))
			}
			data = data[2*n:]
			if out := r.Resample(nil, src); len(out) > r.OutLen(n) {
				t.Fatalf("%d->%d: %d samples in, %d out, OutLen %d", from, to, n, len(out), r.OutLen(n))
			}
		}
	})
}

// FuzzChain writes random frames (payloads of random length, some missing)
// through a chain between two random formats: no panic, and every error is
// the encoder's or next's, never a crash on network input.
func FuzzChain(f *testing.F) {
	f.Add(byte(0), byte(5), []byte{3, 0xFF, 0x00, 0x7F})
	f.Add(byte(2), byte(3), []byte{0x80, 1, 2})
	f.Add(byte(3), byte(1), []byte{5, 0xF8, 0xFF, 0xFE, 0x00, 0x01, 0x41, 0xFF})
	f.Add(byte(6), byte(3), []byte{200, 1, 2, 3, 4, 5, 6, 7})
	f.Fuzz(func(t *testing.T, a, b byte, data []byte) {
		from, to := formats[int(a)%len(formats)], formats[int(b)%len(formats)]
		c := newChain(t, from, to, media.WriterFunc(func(media.Frame) error { return nil }))
		for ts := uint32(0); len(data) > 0; ts += 160 {
			ctl := data[0]
			n := min(int(ctl&0x7F), len(data)-1)
			payload := data[1 : 1+n]
			data = data[1+n:]
			fr := media.Frame{Timestamp: ts, Missing: ctl&0x80 != 0}
			if from.IsPCM() {
				fr.Samples = make([]int16, n/2)
				for i := range fr.Samples {
					fr.Samples[i] = int16(binary.LittleEndian.Uint16(payload[2*i:]))
				}
			} else {
				fr.Payload = payload
			}
			_ = c.WriteFrame(fr)
		}
	})
}
