package stream

import (
	"bytes"
	"encoding/base64"
)

// mediaDecoder parses Twilio media messages without allocating: the 50
// messages a second of every call. It takes only the plain form Twilio and
// bots send (the keys event, sequenceNumber, streamSid and media, and in
// media track, chunk, timestamp and payload, all strings without escapes);
// anything else is left to DecodeTwilio, which accepts it or not exactly
// as it accepts the same message (the fuzz target checks this).
type mediaDecoder struct {
	buf []byte
}

// decode returns the μ-law payload of a plain media message (valid until
// the next call); ok is false for anything else.
func (d *mediaDecoder) decode(raw []byte) (payload []byte, ok bool) {
	var event, b64 []byte
	seen := 0 // bits of the keys seen, to refuse duplicates
	i, ok := objectStart(raw, 0)
	if !ok {
		return nil, false
	}
	for first := true; ; first = false {
		var key []byte
		if key, i, ok = member(raw, i, first); !ok {
			return nil, false
		}
		if key == nil {
			break
		}
		bit := 0
		switch string(key) {
		case "event":
			bit = 1
			event, i, ok = plainString(raw, i)
		case "sequenceNumber":
			bit = 2
			_, i, ok = plainString(raw, i)
		case "streamSid":
			bit = 4
			_, i, ok = plainString(raw, i)
		case "media":
			bit = 8
			b64, i, ok = mediaBody(raw, i)
		}
		if bit == 0 || !ok || seen&bit != 0 {
			return nil, false
		}
		seen |= bit
	}
	if string(event) != "media" || seen&8 == 0 || b64 == nil || len(bytes.TrimLeft(raw[i:], " \t\r\n")) != 0 {
		return nil, false
	}
	n := base64.StdEncoding.DecodedLen(len(b64))
	if cap(d.buf) < n {
		d.buf = make([]byte, n)
	}
	n, err := base64.StdEncoding.Decode(d.buf[:n], b64)
	if err != nil {
		return nil, false
	}
	return d.buf[:n], true
}

// mediaBody reads the media object and returns its payload (nil if absent).
func mediaBody(raw []byte, i int) (payload []byte, next int, ok bool) {
	if i, ok = objectStart(raw, i); !ok {
		return nil, 0, false
	}
	seen := 0
	for first := true; ; first = false {
		var key, v []byte
		if key, i, ok = member(raw, i, first); !ok {
			return nil, 0, false
		}
		if key == nil {
			return payload, i, true
		}
		bit := 0
		switch string(key) {
		case "track":
			bit = 1
		case "chunk":
			bit = 2
		case "timestamp":
			bit = 4
		case "payload":
			bit = 8
		}
		if v, i, ok = plainString(raw, i); bit == 0 || !ok || seen&bit != 0 {
			return nil, 0, false
		}
		seen |= bit
		if bit == 8 {
			payload = v
		}
	}
}

// objectStart skips whitespace and an opening brace.
func objectStart(raw []byte, i int) (int, bool) {
	i = skipSpace(raw, i)
	if i >= len(raw) || raw[i] != '{' {
		return 0, false
	}
	return i + 1, true
}

// member reads the next `"key":` of an object (after a comma unless it is
// the first) and returns the key with the index of its value; at the
// object's end, a nil key and the index after its brace.
func member(raw []byte, i int, first bool) (key []byte, next int, ok bool) {
	i = skipSpace(raw, i)
	if i < len(raw) && raw[i] == '}' {
		return nil, i + 1, true
	}
	if !first {
		if i >= len(raw) || raw[i] != ',' {
			return nil, 0, false
		}
		i++
	}
	if key, i, ok = plainString(raw, i); !ok || len(key) == 0 {
		return nil, 0, false
	}
	i = skipSpace(raw, i)
	if i >= len(raw) || raw[i] != ':' {
		return nil, 0, false
	}
	return key, i + 1, true
}

// plainString reads a string without escapes or control characters.
func plainString(raw []byte, i int) (s []byte, next int, ok bool) {
	i = skipSpace(raw, i)
	if i >= len(raw) || raw[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(raw); j++ {
		switch c := raw[j]; {
		case c == '"':
			return raw[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

func skipSpace(raw []byte, i int) int {
	for i < len(raw) && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\r' || raw[i] == '\n') {
		i++
	}
	return i
}
