package transcribe_test

import (
	"os"
	"testing"

	"github.com/voxgate/voxgate/speech/transcribe"
	"github.com/voxgate/voxgate/speech/transcribe/transcribetest"
)

// BenchmarkNarrowband reports the word error rate (wer) of pocketsphinx
// on every committed sentence degraded as a G.711 leg degrades it, each
// decoded as one utterance: with the stock model, and with the model in
// VOXGATE_NARROWBAND_MODEL when set (scripts/narrowband-model.sh builds
// one; make narrowband-model builds it into models/en-us-8k).
func BenchmarkNarrowband(b *testing.B) {
	all := transcribetest.Sentences(b)
	models := map[string]string{"stock": ""}
	if dir := os.Getenv("VOXGATE_NARROWBAND_MODEL"); dir != "" {
		models["adapted"] = dir
	}
	for name, dir := range models {
		b.Run(name, func(b *testing.B) {
			e, err := transcribe.Open("pocketsphinx", transcribe.Options{Model: dir})
			if err != nil {
				b.Fatal(err)
			}
			var wer float64
			for b.Loop() {
				var refs, hyps []string
				for _, s := range all {
					refs = append(refs, s.Text)
					hyps = append(hyps, decode(b, e, transcribetest.Telephone(s.PCM)))
				}
				wer = transcribetest.WER(refs, hyps)
			}
			b.ReportMetric(wer, "wer")
		})
	}
}
