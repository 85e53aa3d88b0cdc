package media

import (
	"encoding/binary"
	"errors"
)

// TelephoneEvent is the 4-byte payload of an RFC 4733 telephone-event packet.
type TelephoneEvent struct {
	Event    uint8  // 0-9 digits, 10 *, 11 #, 12-15 A-D
	End      bool   // the last packets of an event carry E
	Volume   uint8  // 0-63, in -dBm0
	Duration uint16 // in RTP timestamp units since the event began
}

// ErrShortEvent means a telephone-event payload has fewer than 4 bytes.
var ErrShortEvent = errors.New("media: telephone-event payload shorter than 4 bytes")

// Unmarshal reads the payload.
func (e *TelephoneEvent) Unmarshal(p []byte) error {
	if len(p) < 4 {
		return ErrShortEvent
	}
	e.Event, e.End, e.Volume = p[0], p[1]&0x80 != 0, p[1]&0x3f
	e.Duration = binary.BigEndian.Uint16(p[2:])
	return nil
}

// Append appends the 4-byte payload to b.
func (e TelephoneEvent) Append(b []byte) []byte {
	flags := e.Volume & 0x3f
	if e.End {
		flags |= 0x80
	}
	return append(b, e.Event, flags, byte(e.Duration>>8), byte(e.Duration))
}

const dtmfDigits = "0123456789*#ABCD"

// DigitOf returns the character of an event code (0 when it is no digit).
func DigitOf(event uint8) byte {
	if int(event) < len(dtmfDigits) {
		return dtmfDigits[event]
	}
	return 0
}

// EventOf returns the event code of a digit character.
func EventOf(digit byte) (uint8, bool) {
	if digit >= 'a' && digit <= 'd' {
		digit -= 'a' - 'A'
	}
	for i := 0; i < len(dtmfDigits); i++ {
		if dtmfDigits[i] == digit {
			return uint8(i), true
		}
	}
	return 0, false
}

// DTMFReceiver turns telephone-event packets into digits, one per event:
// every packet of an event (start, updates, the redundant end packets)
// shares its RTP timestamp, so a digit is reported the first time a new
// timestamp is seen, even if the start packet was lost. Packets of an
// older event that arrive late (reordered) are ignored.
type DTMFReceiver struct {
	lastTS   uint32
	lastCode uint8
	seen     bool
}

// Push takes one packet and returns the digit when it starts a new event.
func (r *DTMFReceiver) Push(timestamp uint32, payload []byte) (digit byte, ok bool) {
	var e TelephoneEvent
	if e.Unmarshal(payload) != nil {
		return 0, false
	}
	d := DigitOf(e.Event)
	if d == 0 {
		return 0, false
	}
	if r.seen && (int32(timestamp-r.lastTS) < 0 || timestamp == r.lastTS && e.Event == r.lastCode) {
		return 0, false
	}
	r.seen, r.lastTS, r.lastCode = true, timestamp, e.Event
	return d, true
}

// DTMFPacket is one RTP packet of a generated digit string.
type DTMFPacket struct {
	Marker bool
	// TimestampOffset is added to the stream's timestamp at the start of
	// the string; all packets of one digit share it.
	TimestampOffset uint32
	// Step is when to send it, counted in 20 ms steps from the start.
	Step    int
	Payload [4]byte
}

// DTMF durations: each digit lasts 100 ms, then 60 ms of gap.
const (
	dtmfToneSteps = 5 // 20 ms packets while the tone sounds
	dtmfGapSteps  = 3
	dtmfEndCopies = 3 // the end packet is sent three times (RFC 4733 §2.5.1.4)
)

// GenerateDTMF returns the packets that send digits at clockRate (8000 for
// telephone-event/8000): for each digit a start packet with the marker,
// updates every 20 ms, and three end packets. Characters that are no digit
// give an error.
func GenerateDTMF(digits string, clockRate int, volume uint8) ([]DTMFPacket, error) {
	step := uint32(clockRate / 50)
	var out []DTMFPacket
	at := 0
	for i := 0; i < len(digits); i++ {
		code, ok := EventOf(digits[i])
		if !ok {
			return nil, errors.New("media: not a DTMF digit: " + string(digits[i]))
		}
		ts := uint32(at) * step
		for s := 0; s < dtmfToneSteps; s++ {
			e := TelephoneEvent{Event: code, Volume: volume, Duration: uint16(uint32(s+1) * step)}
			p := DTMFPacket{Marker: s == 0, TimestampOffset: ts, Step: at + s}
			copy(p.Payload[:], e.Append(nil))
			out = append(out, p)
		}
		end := TelephoneEvent{Event: code, End: true, Volume: volume, Duration: uint16(dtmfToneSteps * step)}
		for c := 0; c < dtmfEndCopies; c++ {
			p := DTMFPacket{TimestampOffset: ts, Step: at + dtmfToneSteps - 1}
			copy(p.Payload[:], end.Append(nil))
			out = append(out, p)
		}
		at += dtmfToneSteps + dtmfGapSteps
	}
	return out, nil
}
