// Package media is the vocabulary of voxgate's audio pipelines: formats,
// frames, and the Reader/Writer stages that carry them. It imports only the
// standard library and never logs.
//
// A pipeline is built by wrapping writers, in the style of net/http handlers:
// every stage has a String method so that fmt.Sprint of the head of a chain
// prints the whole chain, e.g. "PCMU(8000) -> Resample(8000->16000) -> Tee(...)".
package media

import (
	"fmt"
	"strings"
	"time"
)

// Codec names, as they appear in SDP rtpmap lines. L16 is linear PCM.
const (
	CodecPCM16 = "L16"
	CodecPCMU  = "PCMU"
	CodecPCMA  = "PCMA"
	CodecG722  = "G722"
	CodecOpus  = "opus"
)

// FrameDuration is the packetization interval used throughout the gateway.
const FrameDuration = 20 * time.Millisecond

// Format describes a stream of audio frames.
type Format struct {
	// Codec is the SDP encoding name (CodecPCM16, CodecPCMU, ...).
	Codec string
	// SampleRate is the rate of the audio signal in Hz (16000 for G.722, even
	// though its RTP clock rate is 8000; 48000 for Opus).
	SampleRate int
	// Channels is the number of interleaved channels; 0 means 1.
	Channels int
}

// PCM16 returns the linear 16-bit mono format at the given rate.
func PCM16(rate int) Format { return Format{Codec: CodecPCM16, SampleRate: rate, Channels: 1} }

// IsPCM reports whether frames of this format carry Samples rather than Payload.
func (f Format) IsPCM() bool { return f.Codec == CodecPCM16 }

// NumChannels returns Channels, treating 0 as mono.
func (f Format) NumChannels() int {
	if f.Channels <= 0 {
		return 1
	}
	return f.Channels
}

// SamplesPerFrame is the number of samples per channel in one FrameDuration.
func (f Format) SamplesPerFrame() int { return SamplesIn(f.SampleRate, FrameDuration) }

// String prints the format as "codec/rate[/channels]".
func (f Format) String() string {
	if f.NumChannels() > 1 {
		return fmt.Sprintf("%s/%d/%d", f.Codec, f.SampleRate, f.NumChannels())
	}
	return fmt.Sprintf("%s/%d", f.Codec, f.SampleRate)
}

// SamplesIn returns how many samples at rate Hz fit in d.
func SamplesIn(rate int, d time.Duration) int {
	return int(int64(rate) * int64(d) / int64(time.Second))
}

// Frame is one packetization interval (usually 20 ms) of audio.
//
// PCM frames carry Samples; encoded frames carry Payload. Frames are passed by
// value and their slices are only borrowed: a Writer must not keep them after
// WriteFrame returns, and a Reader may reuse them on its next ReadFrame.
type Frame struct {
	// Samples holds interleaved linear PCM when the format is PCM16.
	Samples []int16
	// Payload holds the encoded bytes for any other codec.
	Payload []byte
	// Timestamp is the media time of the first sample, in samples at the
	// format's sample rate since the stream began (wraps like an RTP timestamp).
	Timestamp uint32
	// Missing marks a frame that was lost on the way; decoders conceal it.
	Missing bool
}

// Reader produces frames. ReadFrame fills f and returns io.EOF at the end.
type Reader interface {
	ReadFrame(f *Frame) error
}

// Writer consumes frames. It must not retain the frame's slices.
type Writer interface {
	WriteFrame(f Frame) error
}

// WriterFunc adapts a function to a Writer.
type WriterFunc func(f Frame) error

// WriteFrame calls fn(f).
func (fn WriterFunc) WriteFrame(f Frame) error { return fn(f) }

// String names the stage.
func (fn WriterFunc) String() string { return "WriterFunc" }

// ReaderFunc adapts a function to a Reader.
type ReaderFunc func(f *Frame) error

// ReadFrame calls fn(f).
func (fn ReaderFunc) ReadFrame(f *Frame) error { return fn(f) }

// String names the stage.
func (fn ReaderFunc) String() string { return "ReaderFunc" }

// Tee returns a Writer that writes every frame to each of ws in order. It
// writes to all of them even when one fails and returns the first error.
func Tee(ws ...Writer) Writer { return tee(ws) }

type tee []Writer

func (t tee) WriteFrame(f Frame) error {
	var first error
	for _, w := range t {
		if err := w.WriteFrame(f); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (t tee) String() string {
	parts := make([]string, len(t))
	for i, w := range t {
		parts[i] = Describe(w)
	}
	return "Tee(" + strings.Join(parts, ", ") + ")"
}

// Describe prints a stage: its String method when it has one, else its type.
func Describe(v any) string {
	if s, ok := v.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprintf("%T", v)
}
