package transcribe_test

import (
	"testing"

	"github.com/voxgate/voxgate/speech/transcribe/transcribetest"
	"github.com/voxgate/voxgate/transcode"
	"github.com/voxgate/voxgate/transcode/g711"
)

// telephone degrades 16 kHz speech as a G.711 call leg does: down to
// 8 kHz, μ-law both ways, and back up with the gateway's resampler.
func telephone(t testing.TB, pcm []int16) []int16 {
	t.Helper()
	down, err := transcode.NewResampler(16000, 8000)
	if err != nil {
		t.Fatal(err)
	}
	up, err := transcode.NewResampler(8000, 16000)
	if err != nil {
		t.Fatal(err)
	}
	nb := down.Resample(make([]int16, 0, down.OutLen(len(pcm))), pcm)
	for i, v := range nb {
		nb[i] = g711.DecodeULaw(g711.EncodeULaw(v))
	}
	return up.Resample(make([]int16, 0, up.OutLen(len(nb))), nb)
}

// BenchmarkNarrowband reports the word error rate (wer) of the engine on
// every committed sentence degraded as a G.711 leg degrades it, each
// decoded as one utterance.
func BenchmarkNarrowband(b *testing.B) {
	all := transcribetest.Sentences(b)
	e := engine(b)
	var wer float64
	for b.Loop() {
		var refs, hyps []string
		for _, s := range all {
			refs = append(refs, s.Text)
			hyps = append(hyps, decode(b, e, telephone(b, s.PCM)))
		}
		wer = transcribetest.WER(refs, hyps)
	}
	b.ReportMetric(wer, "wer")
}
