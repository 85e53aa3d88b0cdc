package transcode

import (
	"fmt"
	"testing"

	"github.com/voxgate/voxgate/media/mediatest"
)

// report adds the frame rate (one op is one 20 ms frame) to a benchmark.
func report(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}

func BenchmarkResample(b *testing.B) {
	for _, rates := range [][2]int{{8000, 16000}, {16000, 8000}, {8000, 48000}, {48000, 8000}, {48000, 16000}, {16000, 48000}} {
		b.Run(fmt.Sprintf("%d-%d", rates[0], rates[1]), func(b *testing.B) {
			r, err := NewResampler(rates[0], rates[1])
			if err != nil {
				b.Fatal(err)
			}
			in := mediatest.Tone(rates[0], 1020, -10, rates[0]/50)
			out := make([]int16, 0, r.OutLen(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				out = r.Resample(out[:0], in)
			}
			report(b)
		})
	}
}
