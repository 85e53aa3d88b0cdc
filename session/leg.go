package session

import (
	"github.com/voxgate/voxgate/media"
)

// Rate is the sample rate of audio inside a session: every source is
// decoded to 16-bit mono PCM at this rate, in frames of media.FrameDuration.
const Rate = 16000

// FrameSamples is the number of samples in one frame at Rate.
const FrameSamples = Rate / 50

// NarrowRate is the rate of the session's narrow band: telephone legs
// (G.711) and clients that send or take 8 kHz audio exchange it without
// resampling when nothing in the session needs the wide band.
const NarrowRate = 8000

// NarrowSamples is the number of samples in one frame at NarrowRate.
const NarrowSamples = NarrowRate / 50

// frameSamples is the length of a frame in the narrow or the wide band.
func frameSamples(narrow bool) int {
	if narrow {
		return NarrowSamples
	}
	return FrameSamples
}

// Speaker is a side of the conversation.
type Speaker string

// The two sides.
const (
	SpeakerCustomer Speaker = "customer"
	SpeakerAgent    Speaker = "agent"
)

// Other returns the other side.
func (s Speaker) Other() Speaker {
	if s == SpeakerCustomer {
		return SpeakerAgent
	}
	return SpeakerCustomer
}

// Valid reports whether s names a side.
func (s Speaker) Valid() bool { return s == SpeakerCustomer || s == SpeakerAgent }

// Track says what a source's audio is: what was said, its translation, or
// speech the gateway synthesized.
type Track string

// Tracks.
const (
	Original    Track = "original"
	Translated  Track = "translated"
	Synthesized Track = "synthesized"
)

// Tracks lists every track.
var Tracks = []Track{Original, Translated, Synthesized}

// A Leg is one party's connection to a session: a SIP call, a WebRTC peer, a
// Twilio stream. sip.Call, rtc.Peer and stream.TwilioLeg satisfy it
// structurally; this package never imports them.
//
// ReadFrame blocks until the party sends the next frame and returns an error
// once the leg is gone. WriteFrame must not block: a leg queues or drops.
type Leg interface {
	// CallID names the leg (call_…).
	CallID() string
	// Speaker is the side the party speaks for.
	Speaker() Speaker
	// Format is the audio format of ReadFrame and WriteFrame.
	Format() media.Format
	media.Reader
	media.Writer
	// Close ends the leg with a cause; it is idempotent.
	Close(cause error) error
}

// FrameDeliverer is a leg that can hand the frames it receives to a writer
// on its own receiving goroutine (a SIP call's RTP poller) instead of
// waiting in ReadFrame, and say when it has ended: the session then keeps
// no goroutine reading it or waiting for its end, and makes no handoff per
// frame. DeliverFrames is called once, before any ReadFrame; w does not
// block, and f.Payload is valid only during the call. ended is called once
// the leg has ended (at once if it already has; a frame may still follow
// it); it does not block, and a leg calls it through a media.EndNotice.
type FrameDeliverer interface {
	DeliverFrames(w media.Writer, ended func())
}

// DTMFSender is a leg that can send RFC 4733 digits to its party.
type DTMFSender interface {
	SendDTMF(digits string) error
}

// PlaybackMarker is a leg whose far end buffers what it is sent and can
// tell when it has played it (a Twilio stream). The session hands it a
// client's marks and clears in line with the audio: the client's mark echo
// then waits for the far end's.
type PlaybackMarker interface {
	// MarkPlayback asks the far end to report when the audio written so far
	// has been played; echo is called then, when it is cleared, or when the
	// leg ends. It must not block.
	MarkPlayback(name string, echo func())
	// ClearPlayback drops what the far end has not played yet.
	ClearPlayback()
}
