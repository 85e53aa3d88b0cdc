package transcode

import (
	"fmt"
	"testing"

	"github.com/voxgate/voxgate/media"
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

// BenchmarkChain measures one 20 ms frame through each chain in steady state.
func BenchmarkChain(b *testing.B) {
	tests := []struct {
		name     string
		from, to media.Format
	}{
		{"PCMU_to_L16_16k", pcmu, media.PCM16(16000)},
		{"L16_16k_to_PCMU", media.PCM16(16000), pcmu},
		{"PCMU_to_L16_8k", pcmu, media.PCM16(8000)},
		{"Opus48k_to_L16_16k", opusf, media.PCM16(16000)},
		{"L16_16k_to_Opus48k", media.PCM16(16000), opusf},
		{"L16_48k_to_Opus48k", media.PCM16(48000), opusf},
		{"G722_to_L16_16k", g722f, media.PCM16(16000)},
		{"L16_16k_to_G722", media.PCM16(16000), g722f},
		{"PCMU_to_Opus48k", pcmu, opusf},
		{"Opus48k_to_PCMU", opusf, pcmu},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			// 50 frames of a tone in the source format, sent round and round.
			rate := tt.from.SampleRate
			frames := framesOf(run(b, media.PCM16(rate), tt.from, mediatest.Frames(mediatest.Tone(rate, 1020, -10, rate), rate)), tt.from)
			step := uint32(media.SamplesIn(rate, media.FrameDuration))
			c := newChain(b, tt.from, tt.to, media.WriterFunc(func(media.Frame) error { return nil }))
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				f := frames[i%len(frames)]
				f.Timestamp = uint32(i) * step
				if err := c.WriteFrame(f); err != nil {
					b.Fatal(err)
				}
				i++
			}
			report(b)
		})
	}
}
