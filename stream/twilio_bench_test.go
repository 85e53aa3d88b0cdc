package stream

import (
	"encoding/base64"
	"testing"

	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/transcode/g711"
)

// BenchmarkTwilioMedia is one 20 ms frame of a Twilio stream each way: a
// media message parsed (the allocation-free path) and its μ-law decoded to
// session audio, and a frame
// of session audio encoded into the media message a bot receives.
func BenchmarkTwilioMedia(b *testing.B) {
	pcm := make([]int16, 160)
	mulaw := make([]byte, 160)
	g711.PCMU.Encode(pcm, mulaw)
	in := appendTwilioMedia(nil, "MZ0123456789abcdef0123456789abcdef", 7, 6, 100, []byte(base64.StdEncoding.EncodeToString(mulaw)))
	dec, enc := newDecoder(), newEncoder(audioFormat{"mulaw", 8000})
	frame := session.AudioFrame{Speaker: session.SpeakerCustomer, Track: session.Original, Samples: make([]int16, session.NarrowSamples)}
	var (
		out []byte
		md  mediaDecoder
	)
	b.ReportAllocs()
	for b.Loop() {
		payload, ok := md.decode(in)
		if !ok {
			b.Fatal("a plain media message missed the fast path")
		}
		if _, _, err := dec.decode(session.SpeakerAgent, audioFormat{"mulaw", 8000}, payload); err != nil {
			b.Fatal(err)
		}
		raw := enc.encode(&frame)
		out = appendTwilioMedia(out[:0], "MZ0123456789abcdef0123456789abcdef", 8, 7, 120, enc.base64(raw))
	}
}

// BenchmarkDecodeTwilio is the general decoder on the same message: what a
// media message in an unusual form (escapes, other keys) costs.
func BenchmarkDecodeTwilio(b *testing.B) {
	in := appendTwilioMedia(nil, "MZ0123456789abcdef0123456789abcdef", 7, 6, 100, []byte(base64.StdEncoding.EncodeToString(make([]byte, 160))))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := DecodeTwilio(in); err != nil {
			b.Fatal(err)
		}
	}
}
