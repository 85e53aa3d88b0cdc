// Package mediatest holds helpers for tests that carry audio through a
// pipeline: a sine source, a tone analyser (frequency, level in dBFS, SNR),
// a frame sink and a 16-bit mono WAV reader/writer. It is meant for _test.go
// files only and imports nothing beyond media, the standard library and testing.
package mediatest

import (
	"math"

	"github.com/voxgate/voxgate/media"
)

// FullScale is the amplitude of a 0 dBFS sine in 16-bit samples.
const FullScale = 32768

// Amplitude converts a level in dBFS to a sine peak amplitude in samples.
func Amplitude(dBFS float64) float64 { return FullScale * math.Pow(10, dBFS/20) }

// DBFS converts a sine peak amplitude in samples to a level in dBFS.
func DBFS(amplitude float64) float64 { return 20 * math.Log10(amplitude/FullScale) }

// Sine is a continuous sine generator; successive reads continue the phase,
// so frames cut from it join without a click. Its ReadFrame makes it a
// media.Reader of PCM16 frames of media.FrameDuration.
type Sine struct {
	Freq  float64 // Hz
	Level float64 // dBFS of the peak (0 is full scale)
	Rate  int     // samples per second

	n uint32 // samples produced so far
}

// NewSine returns a sine of freq Hz at level dBFS sampled at rate Hz.
func NewSine(rate int, freq, level float64) *Sine {
	return &Sine{Freq: freq, Level: level, Rate: rate}
}

// Read fills dst with the next len(dst) samples.
func (s *Sine) Read(dst []int16) {
	a := Amplitude(s.Level)
	w := 2 * math.Pi * s.Freq / float64(s.Rate)
	for i := range dst {
		v := math.Round(a * math.Sin(w*float64(s.n)))
		dst[i] = int16(max(-32768, min(32767, v)))
		s.n++
	}
}

// Samples returns the next n samples in a new slice.
func (s *Sine) Samples(n int) []int16 {
	x := make([]int16, n)
	s.Read(x)
	return x
}

// ReadFrame fills f with the next 20 ms of PCM, reusing f.Samples when it is
// large enough. It never returns an error.
func (s *Sine) ReadFrame(f *media.Frame) error {
	n := media.SamplesIn(s.Rate, media.FrameDuration)
	if cap(f.Samples) < n {
		f.Samples = make([]int16, n)
	}
	f.Samples = f.Samples[:n]
	f.Payload = nil
	f.Missing = false
	f.Timestamp = s.n
	s.Read(f.Samples)
	return nil
}

// String names the stage.
func (s *Sine) String() string { return "Sine" }

// Tone returns n samples of a sine of freq Hz at level dBFS sampled at rate Hz.
func Tone(rate int, freq, level float64, n int) []int16 {
	return NewSine(rate, freq, level).Samples(n)
}

// Frames cuts PCM samples at rate Hz into 20 ms PCM16 frames with running
// timestamps. A short tail becomes a short last frame. The frames share x.
func Frames(x []int16, rate int) []media.Frame {
	n := media.SamplesIn(rate, media.FrameDuration)
	var fs []media.Frame
	for off := 0; off < len(x); off += n {
		end := min(off+n, len(x))
		fs = append(fs, media.Frame{Samples: x[off:end:end], Timestamp: uint32(off)})
	}
	return fs
}
