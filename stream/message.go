package stream

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/voxgate/voxgate/session"
)

// Message is a client message of the voxgate protocol (SPEC §4.1).
type Message struct {
	Type        string     `json:"type"`
	Sequence    int64      `json:"sequence"`
	TimestampMS int64      `json:"timestamp_ms"`
	Speaker     string     `json:"speaker"`
	Audio       *AudioBody `json:"audio"`
	Name        string     `json:"name"`
	Digits      string     `json:"digits"`
	CallID      string     `json:"call_id"`
	// ToolCallID and Result answer a tool.call (agents with an llm brain).
	ToolCallID string          `json:"tool_call_id"`
	Result     json.RawMessage `json:"result"`
}

// AudioBody is the audio object of audio.input and audio.output.
type AudioBody struct {
	Encoding     string `json:"encoding"`
	SampleRateHz int    `json:"sample_rate_hz"`
	Payload      string `json:"payload"`
}

// clientTypes are the message types a client may send.
var clientTypes = map[string]bool{
	"audio.input": true, "ping": true, "session.end": true, "audio.clear": true, "mark": true, "dtmf.send": true,
	"tool.result": true,
}

// DecodeMessage parses and checks a client's text frame. Errors wrap
// errBadMessage (not a message we know) or errBadAudio (an audio.input whose
// audio is unusable).
func DecodeMessage(raw []byte) (Message, []byte, error) {
	var m Message
	if err := json.Unmarshal(raw, &m); err != nil {
		return m, nil, fmt.Errorf("%w: not a JSON object with a type", errBadMessage)
	}
	if !clientTypes[m.Type] {
		return m, nil, fmt.Errorf("%w: unknown type %q", errBadMessage, m.Type)
	}
	switch m.Type {
	case "audio.input":
		if m.Audio == nil {
			return m, nil, fmt.Errorf("%w: audio.input without audio", errBadAudio)
		}
		if !session.Speaker(m.Speaker).Valid() {
			return m, nil, fmt.Errorf("%w: speaker must be customer or agent", errBadAudio)
		}
		if _, err := inputFormat(m.Audio.Encoding, m.Audio.SampleRateHz); err != nil {
			return m, nil, err
		}
		payload, err := base64.StdEncoding.DecodeString(m.Audio.Payload)
		if err != nil {
			return m, nil, fmt.Errorf("%w: payload is not base64", errBadAudio)
		}
		return m, payload, nil
	case "mark":
		if m.Name == "" {
			return m, nil, fmt.Errorf("%w: mark needs a name", errBadMessage)
		}
	case "dtmf.send":
		if m.Digits == "" {
			return m, nil, fmt.Errorf("%w: dtmf.send needs digits", errBadMessage)
		}
	case "tool.result":
		if m.ToolCallID == "" {
			return m, nil, fmt.Errorf("%w: tool.result needs a tool_call_id", errBadMessage)
		}
	}
	return m, nil, nil
}

// toolResult is a tool.result's result as the model is given it: a JSON
// string's text, or any other JSON value as it came.
func toolResult(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// render writes a session event as the message a client receives.
func render(ev session.Event) []byte {
	var v any
	switch ev.Type {
	case "mark":
		v = map[string]string{"type": "mark", "name": ev.Name}
	case "session.error":
		v = map[string]string{"type": "session.error", "code": ev.Code, "message": ev.Message}
	case session.EventSessionEnded:
		v = map[string]any{"type": ev.Type, "reason": ev.Reason, "data": rawOrNull(ev.Data)}
	default:
		v = map[string]any{"type": ev.Type, "data": rawOrNull(ev.Data)}
	}
	b, _ := json.Marshal(v)
	return b
}

func rawOrNull(r json.RawMessage) json.RawMessage {
	if len(r) == 0 {
		return json.RawMessage("null")
	}
	return r
}

// appendAudioOutput appends an audio.output message without allocating.
func appendAudioOutput(dst []byte, f *session.AudioFrame, out audioFormat, payload []byte) []byte {
	dst = append(dst, `{"type":"audio.output","speaker":"`...)
	dst = append(dst, f.Speaker...)
	dst = append(dst, `","track":"`...)
	dst = append(dst, f.Track...)
	dst = append(dst, `","sequence":`...)
	dst = strconv.AppendUint(dst, f.Sequence, 10)
	dst = append(dst, `,"timestamp_ms":`...)
	dst = strconv.AppendInt(dst, f.TimestampMS, 10)
	dst = append(dst, `,"audio":{"encoding":"`...)
	dst = append(dst, out.encoding...)
	dst = append(dst, `","sample_rate_hz":`...)
	dst = strconv.AppendInt(dst, int64(out.rate), 10)
	dst = append(dst, `,"payload":"`...)
	dst = append(dst, payload...)
	return append(dst, `"}}`...)
}

// Binary audio frames (binary=1): byte 0 speaker, byte 1 track, then audio.
func speakerByte(s session.Speaker) byte {
	if s == session.SpeakerAgent {
		return 1
	}
	return 0
}

func trackByte(t session.Track) byte {
	switch t {
	case session.Translated:
		return 1
	case session.Synthesized:
		return 2
	}
	return 0
}

func byteSpeaker(b byte) (session.Speaker, bool) {
	switch b {
	case 0:
		return session.SpeakerCustomer, true
	case 1:
		return session.SpeakerAgent, true
	}
	return "", false
}

func jsonMarshal(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
