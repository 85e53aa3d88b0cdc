// Package transcribetest holds the committed test speech (testdata/speech:
// business-call sentences spoken by flite's slt voice at 16 kHz) and the
// word error rate that transcripts are judged by.
package transcribetest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/voxgate/voxgate/media/mediatest"
	"github.com/voxgate/voxgate/transcode"
	"github.com/voxgate/voxgate/transcode/g711"
)

// Sentence is one committed recording and what it says.
type Sentence struct {
	Text string
	File string
	PCM  []int16 // 16 kHz mono
}

// Dir is the directory of the committed speech.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "testdata", "speech")
}

// NarrowbandModel is the directory of the committed pocketsphinx model
// adapted to telephone audio (scripts/narrowband-model.sh).
func NarrowbandModel() string {
	return filepath.Join(Dir(), "..", "..", "models", "en-us-8k")
}

// Sentences loads the committed sentences.
func Sentences(tb testing.TB) []Sentence {
	tb.Helper()
	f, err := os.Open(filepath.Join(Dir(), "sentences.txt"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []Sentence
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		s := Sentence{Text: sc.Text(), File: filepath.Join(Dir(), fmt.Sprintf("%02d.wav", len(out)+1))}
		w, err := os.Open(s.File)
		if err != nil {
			tb.Fatal(err)
		}
		rate, pcm, err := mediatest.ReadWAV(w)
		_ = w.Close()
		if err != nil || rate != 16000 {
			tb.Fatalf("%s: rate %d, %v", s.File, rate, err)
		}
		s.PCM = pcm
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// Continuous transcribes a WAV offline with pocketsphinx_continuous; ok is
// false when that program is not installed.
func Continuous(tb testing.TB, wav string) (text string, ok bool) {
	tb.Helper()
	bin, err := exec.LookPath("pocketsphinx_continuous")
	if err != nil {
		return "", false
	}
	out, err := exec.Command(bin, "-infile", wav, "-logfn", os.DevNull).Output()
	if err != nil {
		tb.Fatalf("pocketsphinx_continuous %s: %v", wav, err)
	}
	return strings.Join(strings.Fields(string(out)), " "), true
}

// Edits counts the word edits (substitutions, insertions, deletions) from
// ref to hyp, ignoring case.
func Edits(ref, hyp string) int {
	r, h := strings.Fields(strings.ToLower(ref)), strings.Fields(strings.ToLower(hyp))
	prev, cur := make([]int, len(h)+1), make([]int, len(h)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(r); i++ {
		cur[0] = i
		for j := 1; j <= len(h); j++ {
			sub := prev[j-1]
			if r[i-1] != h[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(h)]
}

// WER is the word error rate of hyps against refs, taken together.
func WER(refs, hyps []string) float64 {
	edits, words := 0, 0
	for i, ref := range refs {
		hyp := ""
		if i < len(hyps) {
			hyp = hyps[i]
		}
		edits += Edits(ref, hyp)
		words += len(strings.Fields(ref))
	}
	if words == 0 {
		return 0
	}
	return float64(edits) / float64(words)
}

// Telephone degrades 16 kHz speech as a G.711 call leg does: down to
// 8 kHz, μ-law both ways, and back up with the gateway's resampler.
func Telephone(pcm []int16) []int16 {
	down, err := transcode.NewResampler(16000, 8000)
	if err != nil {
		panic(err) // both rates are supported
	}
	up, err := transcode.NewResampler(8000, 16000)
	if err != nil {
		panic(err)
	}
	nb := down.Resample(make([]int16, 0, down.OutLen(len(pcm))), pcm)
	for i, v := range nb {
		nb[i] = g711.DecodeULaw(g711.EncodeULaw(v))
	}
	return up.Resample(make([]int16, 0, up.OutLen(len(nb))), nb)
}
