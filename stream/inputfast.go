package stream

import (
	"bytes"
	"encoding/base64"

	"github.com/voxgate/voxgate/session"
)

// inputDecoder parses audio.input messages without allocating: the 50
// messages a second a speaking client sends. It takes only the plain form
// (the keys type, sequence, timestamp_ms, speaker and audio, and in audio
// encoding, sample_rate_hz and payload; strings without escapes, integers)
// and leaves anything else to DecodeMessage, which accepts it or not exactly
// as it accepts the same message (FuzzDecodeMessage checks this).
type inputDecoder struct {
	buf []byte
}

// decode returns an audio.input's speaker, format and payload (valid until
// the next call); ok is false for anything else.
func (d *inputDecoder) decode(raw []byte) (spk session.Speaker, format audioFormat, payload []byte, ok bool) {
	var typ, speaker, encoding, b64 []byte
	rate := -1
	seen := 0
	i, ok := objectStart(raw, 0)
	if !ok {
		return "", audioFormat{}, nil, false
	}
	for first := true; ; first = false {
		var key []byte
		if key, i, ok = member(raw, i, first); !ok {
			return "", audioFormat{}, nil, false
		}
		if key == nil {
			break
		}
		bit := 0
		switch string(key) {
		case "type":
			bit = 1
			typ, i, ok = plainString(raw, i)
		case "sequence":
			bit = 2
			_, i, ok = integer(raw, i)
		case "timestamp_ms":
			bit = 4
			_, i, ok = integer(raw, i)
		case "speaker":
			bit = 8
			speaker, i, ok = plainString(raw, i)
		case "audio":
			bit = 16
			encoding, rate, b64, i, ok = audioBody(raw, i)
		}
		if bit == 0 || !ok || seen&bit != 0 {
			return "", audioFormat{}, nil, false
		}
		seen |= bit
	}
	if string(typ) != "audio.input" || seen&16 == 0 || b64 == nil || len(bytes.TrimLeft(raw[i:], " \t\r\n")) != 0 {
		return "", audioFormat{}, nil, false
	}
	switch string(speaker) { // no allocation for the known speakers
	case string(session.SpeakerCustomer):
		spk = session.SpeakerCustomer
	case string(session.SpeakerAgent):
		spk = session.SpeakerAgent
	default:
		return "", audioFormat{}, nil, false
	}
	switch {
	case string(encoding) == "mulaw" && rate == 8000:
		format = audioFormat{"mulaw", rate}
	case string(encoding) == "pcm16" && (rate == 8000 || rate == 16000 || rate == 24000 || rate == 48000):
		format = audioFormat{"pcm16", rate}
	default:
		return "", audioFormat{}, nil, false
	}
	n := base64.StdEncoding.DecodedLen(len(b64))
	if cap(d.buf) < n {
		d.buf = make([]byte, n)
	}
	n, err := base64.StdEncoding.Decode(d.buf[:n], b64)
	if err != nil {
		return "", audioFormat{}, nil, false
	}
	return spk, format, d.buf[:n], true
}

// audioBody reads the audio object (rate -1 and payload nil when absent).
func audioBody(raw []byte, i int) (encoding []byte, rate int, payload []byte, next int, ok bool) {
	rate = -1
	if i, ok = objectStart(raw, i); !ok {
		return nil, 0, nil, 0, false
	}
	seen := 0
	for first := true; ; first = false {
		var key []byte
		if key, i, ok = member(raw, i, first); !ok {
			return nil, 0, nil, 0, false
		}
		if key == nil {
			return encoding, rate, payload, i, true
		}
		bit := 0
		switch string(key) {
		case "encoding":
			bit = 1
			encoding, i, ok = plainString(raw, i)
		case "sample_rate_hz":
			bit = 2
			rate, i, ok = integer(raw, i)
		case "payload":
			bit = 4
			payload, i, ok = plainString(raw, i)
		}
		if bit == 0 || !ok || seen&bit != 0 {
			return nil, 0, nil, 0, false
		}
		seen |= bit
	}
}

// integer reads a JSON integer of at most 15 digits (so that it fits
// exactly wherever encoding/json would put it).
func integer(raw []byte, i int) (v int, next int, ok bool) {
	i = skipSpace(raw, i)
	neg := i < len(raw) && raw[i] == '-'
	if neg {
		i++
	}
	start := i
	for i < len(raw) && raw[i] >= '0' && raw[i] <= '9' {
		v = v*10 + int(raw[i]-'0')
		i++
	}
	digits := i - start
	if digits == 0 || digits > 15 || (digits > 1 && raw[start] == '0') {
		return 0, 0, false
	}
	if i < len(raw) && (raw[i] == '.' || raw[i] == 'e' || raw[i] == 'E') {
		return 0, 0, false
	}
	if neg {
		v = -v
	}
	return v, i, true
}
