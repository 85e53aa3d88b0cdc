package g722

import (
	"testing"

	"github.com/voxgate/voxgate/media/mediatest"
)

func BenchmarkEncode(b *testing.B) {
	pcm := mediatest.Tone(16000, 1020, -10, 320)
	data := make([]byte, 160)
	enc := NewEncoder()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = enc.Encode(pcm, data)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}

func BenchmarkDecode(b *testing.B) {
	data := make([]byte, 160)
	_, _ = NewEncoder().Encode(mediatest.Tone(16000, 1020, -10, 320), data)
	pcm := make([]int16, 320)
	dec := NewDecoder()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = dec.Decode(data, pcm)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}
