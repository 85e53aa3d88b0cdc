package g711

import (
	"testing"

	"github.com/voxgate/voxgate/media/mediatest"
)

func BenchmarkDecode(b *testing.B) {
	for _, law := range []Law{PCMU, PCMA} {
		b.Run(law.String(), func(b *testing.B) {
			data := make([]byte, 160)
			_, _ = law.Encode(mediatest.Tone(8000, 1000, -6, 160), data)
			pcm := make([]int16, 160)
			b.ReportAllocs()
			for b.Loop() {
				_, _ = law.Decode(data, pcm)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, law := range []Law{PCMU, PCMA} {
		b.Run(law.String(), func(b *testing.B) {
			pcm := mediatest.Tone(8000, 1000, -6, 160)
			data := make([]byte, 160)
			b.ReportAllocs()
			for b.Loop() {
				_, _ = law.Encode(pcm, data)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}
