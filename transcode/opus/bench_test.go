//go:build cgo

package opus

import (
	"fmt"
	"testing"

	"github.com/voxgate/voxgate/media/mediatest"
)

func BenchmarkEncode(b *testing.B) {
	for _, rate := range []int{48000, 16000} {
		b.Run(fmt.Sprint(rate), func(b *testing.B) {
			enc, err := NewEncoder(EncoderConfig{SampleRate: rate})
			if err != nil {
				b.Fatal(err)
			}
			pcm := mediatest.Tone(rate, 1020, -10, rate/50)
			data := make([]byte, MaxPacketSize)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := enc.Encode(pcm, data); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, rate := range []int{48000, 16000} {
		b.Run(fmt.Sprint(rate), func(b *testing.B) {
			pkts := encodeTone(b, EncoderConfig{}, 1020, -10, 50)
			dec, err := NewDecoder(rate)
			if err != nil {
				b.Fatal(err)
			}
			pcm := make([]int16, rate/50)
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				if _, err := dec.Decode(pkts[i%len(pkts)], pcm); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}
