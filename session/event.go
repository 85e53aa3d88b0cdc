package session

import "encoding/json"

// Event is one message for a subscriber, in the order it must be seen. Most
// are the events of SPEC §3 (Type and Data); some are for one client only.
type Event struct {
	// Type is the message type: "call.answered", "session.ended", "mark",
	// "session.error", "dtmf.sent", ...
	Type string
	// Data is the event's data object, JSON (nil for mark and session.error).
	Data json.RawMessage
	// Name is a mark's name.
	Name string
	// Code and Message describe a session.error.
	Code, Message string
	// Reason is why the session ended, on the final session.ended.
	Reason EndReason
}

// Error codes a subscriber may receive in session.error.
const (
	ErrCodeInvalidAudioFormat = "invalid_audio_format"
	ErrCodeInvalidMessage     = "invalid_message"
	ErrCodePlayoutQueueFull   = "playout_queue_full"
	ErrCodeNoCallLeg          = "no_call_leg"
)
