package pocketsphinx_test

import (
	"fmt"
	"sync"
	"sync/atomic"
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
		r, h, n := speak(b, s, all)
		refs, hyps, samples = append(refs, r...), append(hyps, h...), samples+n
	}
	audio := float64(samples) / transcribe.Rate
	b.ReportMetric(time.Since(start).Seconds()/audio, "rtf")
	b.ReportMetric(audio/float64(b.N), "audio-s/op")
	b.ReportMetric(transcribetest.WER(refs, hyps), "wer")
}

// BenchmarkConcurrent runs streams recognizers at once, each over every
// committed sentence as BenchmarkStream does, with the wideband model and
// the narrowband one (models/en-us-8k). rtf is wall time per second of
// audio over all streams; talking/core, its inverse, is how many streams
// talking at once the process keeps up with on the CPUs it is given — one
// under taskset -c 0 (BENCHMARKS.md).
func BenchmarkConcurrent(b *testing.B) {
	all := transcribetest.Sentences(b)
	for _, model := range []struct{ name, dir string }{{"wideband", ""}, {"narrowband", transcribetest.NarrowbandModel()}} {
		e, err := pocketsphinx.Open(transcribe.Options{Model: model.dir})
		if err != nil {
			b.Fatal(err)
		}
		for _, n := range []int{1, 2, 4, 8} {
			b.Run(fmt.Sprintf("%s/streams=%d", model.name, n), func(b *testing.B) {
				streams := make([]transcribe.Stream, n)
				for i := range streams {
					if streams[i], err = e.NewStream(); err != nil { // decoders load before the clock starts
						b.Fatal(err)
					}
					defer streams[i].Close()
				}
				var samples atomic.Int64
				b.ResetTimer()
				start := time.Now()
				for b.Loop() {
					var wg sync.WaitGroup
					for _, s := range streams {
						wg.Go(func() {
							_, _, k := speak(b, s, all)
							samples.Add(int64(k))
						})
					}
					wg.Wait()
				}
				rtf := time.Since(start).Seconds() / (float64(samples.Load()) / transcribe.Rate)
				b.ReportMetric(rtf, "rtf")
				b.ReportMetric(1/rtf, "talking/core")
			})
		}
	}
}

// speak feeds s every sentence as a live stream does (20 ms frames, a
// partial every 400 ms, a final per sentence) and returns what was said,
// what was recognized and the samples fed.
func speak(b *testing.B, s transcribe.Stream, all []transcribetest.Sentence) (refs, hyps []string, samples int) {
	for _, sen := range all {
		for n := 0; n+transcribe.FrameSamples <= len(sen.PCM); n += transcribe.FrameSamples {
			if err := s.Write(sen.PCM[n : n+transcribe.FrameSamples]); err != nil {
				b.Error(err)
				return
			}
			if n/transcribe.FrameSamples%20 == 19 {
				if _, err := s.Partial(); err != nil {
					b.Error(err)
					return
				}
			}
		}
		text, _, err := s.End()
		if err != nil {
			b.Error(err)
			return
		}
		refs, hyps = append(refs, sen.Text), append(hyps, text)
		samples += len(sen.PCM)
	}
	return refs, hyps, samples
}
