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
	i, seen, ok := object(raw, 0, func(key []byte, i int) (bit, next int, ok bool) {
		switch string(key) {
		case "type":
			typ, next, ok = plainString(raw, i)
			return 1, next, ok
		case "sequence":
			_, next, ok = integer(raw, i)
			return 2, next, ok
		case "timestamp_ms":
			_, next, ok = integer(raw, i)
			return 4, next, ok
		case "speaker":
			speaker, next, ok = plainString(raw, i)
			return 8, next, ok
		case "audio":
			encoding, rate, b64, next, ok = audioBody(raw, i)
			return 16, next, ok
		}
		return 0, 0, false
	})
	if !ok {
		return "", audioFormat{}, nil, false
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
	if format, ok = inputFormatOf(encoding, rate); !ok {
		return "", audioFormat{}, nil, false
	}
	if payload, ok = decodeBase64(&d.buf, b64); !ok {
		return "", audioFormat{}, nil, false
	}
	return spk, format, payload, true
}

// decodeBase64 decodes b64 into *buf, grown as needed, and returns the bytes.
func decodeBase64(buf *[]byte, b64 []byte) ([]byte, bool) {
	n := base64.StdEncoding.DecodedLen(len(b64))
	if cap(*buf) < n {
		*buf = make([]byte, n)
	}
	n, err := base64.StdEncoding.Decode((*buf)[:n], b64)
	return (*buf)[:n], err == nil
}

// audioBody reads the audio object (rate -1 and payload nil when absent).
func audioBody(raw []byte, i int) (encoding []byte, rate int, payload []byte, next int, ok bool) {
	rate = -1
	next, _, ok = object(raw, i, func(key []byte, i int) (bit, next int, ok bool) {
		switch string(key) {
		case "encoding":
			encoding, next, ok = plainString(raw, i)
			return 1, next, ok
		case "sample_rate_hz":
			rate, next, ok = integer(raw, i)
			return 2, next, ok
		case "payload":
			payload, next, ok = plainString(raw, i)
			return 4, next, ok
		}
		return 0, 0, false
	})
	return encoding, rate, payload, next, ok
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
