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
// at 16 kHz (the session's rate), frame after frame, at each complexity.
func BenchmarkEncodeSpeech(b *testing.B) {
	f, err := os.Open("../../testdata/speech/01.wav")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rate, speech, err := mediatest.ReadWAV(f)
	if err != nil || rate != 16000 {
		b.Fatalf("speech: %d Hz, %v", rate, err)
	}
	frames := len(speech) / 320
	for _, complexity := range []int{1, 3, 5, 10} {
		b.Run(fmt.Sprint("complexity=", complexity), func(b *testing.B) {
			enc, err := NewEncoder(EncoderConfig{SampleRate: rate, Complexity: complexity})
			if err != nil {
				b.Fatal(err)
			}
			data := make([]byte, MaxPacketSize)
			n := 0
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
