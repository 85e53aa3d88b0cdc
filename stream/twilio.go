package stream

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
)

// TwilioMessage is one message of Twilio Media Streams, either way
// (reference: peers.md §1). Numerals are JSON strings, as Twilio sends them.
type TwilioMessage struct {
	Event          string       `json:"event"`
	SequenceNumber string       `json:"sequenceNumber,omitempty"`
	StreamSid      string       `json:"streamSid,omitempty"`
	Protocol       string       `json:"protocol,omitempty"` // connected
	Version        string       `json:"version,omitempty"`  // connected
	Start          *TwilioStart `json:"start,omitempty"`
	Media          *TwilioMedia `json:"media,omitempty"`
	Mark           *TwilioMark  `json:"mark,omitempty"`
	DTMF           *TwilioDTMF  `json:"dtmf,omitempty"`
	Stop           *TwilioStop  `json:"stop,omitempty"`
}

// TwilioStart is the body of a start message.
type TwilioStart struct {
	StreamSid        string            `json:"streamSid"`
	AccountSid       string            `json:"accountSid"`
	CallSid          string            `json:"callSid"`
	Tracks           []string          `json:"tracks"`
	CustomParameters map[string]string `json:"customParameters"`
	MediaFormat      TwilioMediaFormat `json:"mediaFormat"`
}

// TwilioMediaFormat is the audio of a stream: always μ-law, 8 kHz, mono.
type TwilioMediaFormat struct {
	Encoding   string `json:"encoding"`
	SampleRate int    `json:"sampleRate"`
	Channels   int    `json:"channels"`
}

// twilioFormat is the only format Twilio streams carry.
var twilioFormat = TwilioMediaFormat{Encoding: "audio/x-mulaw", SampleRate: 8000, Channels: 1}

// TwilioMedia is the body of a media message.
type TwilioMedia struct {
	Track     string `json:"track,omitempty"`
	Chunk     string `json:"chunk,omitempty"`
	Timestamp string `json:"timestamp,omitempty"`
	Payload   string `json:"payload"`
}

// TwilioMark is the body of a mark message.
type TwilioMark struct {
	Name string `json:"name"`
}

// TwilioDTMF is the body of a dtmf message.
type TwilioDTMF struct {
	Track string `json:"track,omitempty"`
	Digit string `json:"digit"`
}

// TwilioStop is the body of a stop message.
type TwilioStop struct {
	AccountSid string `json:"accountSid"`
	CallSid    string `json:"callSid"`
}

// DecodeTwilio parses and checks a Twilio Media Streams message; for media
// it also returns the decoded μ-law payload. Errors wrap errBadMessage.
func DecodeTwilio(raw []byte) (TwilioMessage, []byte, error) {
	var m TwilioMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return m, nil, fmt.Errorf("%w: not a Twilio message (JSON object with an event)", errBadMessage)
	}
	switch m.Event {
	case "connected", "stop":
	case "start":
		if m.Start == nil {
			return m, nil, fmt.Errorf("%w: start without its start object", errBadMessage)
		}
		if f := m.Start.MediaFormat; f.Encoding != "" && f != twilioFormat {
			return m, nil, fmt.Errorf("%w: media format %s/%d/%d (want audio/x-mulaw/8000/1)", errBadAudio, f.Encoding, f.SampleRate, f.Channels)
		}
	case "media":
		if m.Media == nil {
			return m, nil, fmt.Errorf("%w: media without its media object", errBadMessage)
		}
		payload, err := base64.StdEncoding.DecodeString(m.Media.Payload)
		if err != nil {
			return m, nil, fmt.Errorf("%w: media payload is not base64", errBadAudio)
		}
		return m, payload, nil
	case "mark":
		if m.Mark == nil || m.Mark.Name == "" {
			return m, nil, fmt.Errorf("%w: mark needs a name", errBadMessage)
		}
	case "dtmf":
		if m.DTMF == nil || len(m.DTMF.Digit) != 1 || !isDigit(m.DTMF.Digit[0]) {
			return m, nil, fmt.Errorf("%w: dtmf needs one digit", errBadMessage)
		}
	case "clear":
	default:
		return m, nil, fmt.Errorf("%w: unknown event %q", errBadMessage, m.Event)
	}
	return m, nil, nil
}

func isDigit(b byte) bool {
	switch {
	case b >= '0' && b <= '9', b == '*', b == '#', b >= 'A' && b <= 'D':
		return true
	}
	return false
}

// appendTwilioMedia appends a media message without allocating: the form
// the gateway sends to Twilio (chunk 0: no track, chunk nor timestamp) or,
// acting as Twilio, to a bot.
func appendTwilioMedia(dst []byte, streamSid string, seq, chunk uint64, timestampMS int64, payload []byte) []byte {
	dst = append(dst, `{"event":"media",`...)
	if seq > 0 {
		dst = append(dst, `"sequenceNumber":"`...)
		dst = strconv.AppendUint(dst, seq, 10)
		dst = append(dst, `",`...)
	}
	dst = append(dst, `"streamSid":"`...)
	dst = append(dst, streamSid...)
	dst = append(dst, `","media":{`...)
	if chunk > 0 {
		dst = append(dst, `"track":"inbound","chunk":"`...)
		dst = strconv.AppendUint(dst, chunk, 10)
		dst = append(dst, `","timestamp":"`...)
		dst = strconv.AppendInt(dst, timestampMS, 10)
		dst = append(dst, `",`...)
	}
	dst = append(dst, `"payload":"`...)
	dst = append(dst, payload...)
	return append(dst, `"}}`...)
}

// twilioSid makes a Twilio-shaped SID: a two-letter prefix and 32 hex
// digits, derived from seed, or random when seed is empty.
func twilioSid(prefix, seed string) string {
	var b [16]byte
	if seed == "" {
		_, _ = rand.Read(b[:])
	} else {
		sum := sha256.Sum256([]byte(seed))
		copy(b[:], sum[:])
	}
	return prefix + hex.EncodeToString(b[:])
}
