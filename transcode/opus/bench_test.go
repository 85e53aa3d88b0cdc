//go:build cgo

package opus

import (
	"fmt"
	"os"
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

// BenchmarkEncodeSpeech is what --opus-complexity costs: a spoken sentence
// at 16 kHz (the session's rate), frame after frame, at each complexity;
// and what LimitBand saves at the default: the same told it is telephone
// audio (limit=8000), as an Opus leg's encoder is when it hears a G.711
// call alone.
func BenchmarkEncodeSpeech(b *testing.B) {
	rate, speech := readSpeech(b)
	frames := len(speech) / 320
	for _, c := range []struct{ complexity, limit int }{{1, 0}, {3, 0}, {5, 0}, {10, 0}, {5, 8000}} {
		name := fmt.Sprint("complexity=", c.complexity)
		if c.limit != 0 {
			name += fmt.Sprint("/limit=", c.limit)
		}
		b.Run(name, func(b *testing.B) {
			enc, err := NewEncoder(EncoderConfig{SampleRate: rate, Complexity: c.complexity})
			if err != nil {
				b.Fatal(err)
			}
			if err := enc.LimitBand(c.limit); err != nil {
				b.Fatal(err)
			}
			data := make([]byte, MaxPacketSize)
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				i := n % frames
				if _, err := enc.Encode(speech[i*320:(i+1)*320], data); err != nil {
					b.Fatal(err)
				}
				n++
			}
		})
	}
}

// readSpeech reads the spoken sentence the encoding benchmarks code.
func readSpeech(b *testing.B) (rate int, speech []int16) {
	f, err := os.Open("../../testdata/speech/01.wav")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rate, speech, err = mediatest.ReadWAV(f)
	if err != nil || rate != 16000 {
		b.Fatalf("speech: %d Hz, %v", rate, err)
	}
	return rate, speech
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
