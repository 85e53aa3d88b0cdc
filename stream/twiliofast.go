package stream

import "bytes"

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
	i, seen, ok := object(raw, 0, func(key []byte, i int) (bit, next int, ok bool) {
		switch string(key) {
		case "event":
			event, next, ok = plainString(raw, i)
			return 1, next, ok
		case "sequenceNumber":
			_, next, ok = plainString(raw, i)
			return 2, next, ok
		case "streamSid":
			_, next, ok = plainString(raw, i)
			return 4, next, ok
		case "media":
			b64, next, ok = mediaBody(raw, i)
			return 8, next, ok
		}
		return 0, 0, false
	})
	if !ok {
		return nil, false
	}
	if string(event) != "media" || seen&8 == 0 || b64 == nil || len(bytes.TrimLeft(raw[i:], " \t\r\n")) != 0 {
		return nil, false
	}
	if payload, ok = decodeBase64(&d.buf, b64); !ok {
		return nil, false
	}
	return payload, true
}

// mediaBody reads the media object and returns its payload (nil if absent).
func mediaBody(raw []byte, i int) (payload []byte, next int, ok bool) {
	next, _, ok = object(raw, i, func(key []byte, i int) (bit, next int, ok bool) {
		var v []byte
		switch string(key) {
		case "track":
			bit = 1
		case "chunk":
			bit = 2
		case "timestamp":
			bit = 4
		case "payload":
			bit = 8
		default:
			return 0, 0, false
		}
		if v, next, ok = plainString(raw, i); bit == 8 {
			payload = v
		}
		return bit, next, ok
	})
	return payload, next, ok
}

// object reads a JSON object at i, handing each member's key and the index
// of its value to value, which reads the value and returns the key's bit (0
// refuses the key), the index after the value and whether it was good. A
// key seen twice is refused. It returns the index after the object and the
// bits of the keys seen.
func object(raw []byte, i int, value func(key []byte, i int) (bit, next int, ok bool)) (next, seen int, ok bool) {
	if i, ok = objectStart(raw, i); !ok {
		return 0, 0, false
	}
	for first := true; ; first = false {
		var key []byte
		if key, i, ok = member(raw, i, first); !ok {
			return 0, 0, false
		}
		if key == nil {
			return i, seen, true
		}
		var bit int
		if bit, i, ok = value(key, i); bit == 0 || !ok || seen&bit != 0 {
			return 0, 0, false
		}
		seen |= bit
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
