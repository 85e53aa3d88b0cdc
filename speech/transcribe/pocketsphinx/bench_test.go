package pocketsphinx_test

import (
	"testing"
	"time"

	"github.com/voxgate/voxgate/speech/transcribe"
	"github.com/voxgate/voxgate/speech/transcribe/pocketsphinx"
	"github.com/voxgate/voxgate/speech/transcribe/transcribetest"
)

// BenchmarkStream recognizes the committed sentences as a live stream does:
// 20 ms frames, a partial every 400 ms, a final per sentence. rtf is the
// real-time factor of one stream (CPU time per second of audio, on one core);
// wer the word error rate of the finals.
func BenchmarkStream(b *testing.B) {
	all := transcribetest.Sentences(b)
	e, err := pocketsphinx.Open(transcribe.Options{})
	if err != nil {
		b.Fatal(err)
	}
	s, err := e.NewStream()
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	samples := 0
	var refs, hyps []string
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		for _, sen := range all {
			for n := 0; n+transcribe.FrameSamples <= len(sen.PCM); n += transcribe.FrameSamples {
				if err := s.Write(sen.PCM[n : n+transcribe.FrameSamples]); err != nil {
					b.Fatal(err)
				}
				if n/transcribe.FrameSamples%20 == 19 {
					if _, err := s.Partial(); err != nil {
						b.Fatal(err)
					}
				}
			}
			text, _, err := s.End()
			if err != nil {
				b.Fatal(err)
			}
			refs, hyps = append(refs, sen.Text), append(hyps, text)
			samples += len(sen.PCM)
		}
	}
	audio := float64(samples) / transcribe.Rate
	b.ReportMetric(time.Since(start).Seconds()/audio, "rtf")
	b.ReportMetric(audio/float64(b.N), "audio-s/op")
	b.ReportMetric(transcribetest.WER(refs, hyps), "wer")
}
