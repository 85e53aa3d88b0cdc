package loadgen

import (
	"bytes"
	"encoding/base64"
	"strconv"

	"github.com/voxgate/voxgate/transcode/g711"
)

// AudioOutput is what the subscriber needs of an audio.output message.
type AudioOutput struct {
	Speaker  string
	Sequence int64
	// Payload is the base64 text of the audio (not decoded).
	Payload []byte
}

// ParseAudioOutput reads an audio.output message without allocating; ok is
// false for any other message or a malformed one. It reads the fields by
// name, in any order, as the gateway writes them (no escapes in them).
func ParseAudioOutput(raw []byte) (m AudioOutput, ok bool) {
	if !bytes.Contains(raw, []byte(`"type":"audio.output"`)) {
		return m, false
	}
	spk, ok1 := stringField(raw, `"speaker":"`)
	seq, ok2 := numberField(raw, `"sequence":`)
	pl, ok3 := stringField(raw, `"payload":"`)
	if !ok1 || !ok2 || !ok3 {
		return m, false
	}
	m.Sequence, m.Payload = seq, pl
	switch string(spk) { // no allocation: compared, not kept
	case "customer":
		m.Speaker = "customer"
	case "agent":
		m.Speaker = "agent"
	default:
		return m, false
	}
	return m, true
}

// stringField returns the text of a string field up to its closing quote.
func stringField(raw []byte, key string) ([]byte, bool) {
	i := bytes.Index(raw, []byte(key))
	if i < 0 {
		return nil, false
	}
	v := raw[i+len(key):]
	j := bytes.IndexByte(v, '"')
	if j < 0 || bytes.IndexByte(v[:j], '\\') >= 0 {
		return nil, false
	}
	return v[:j], true
}

// numberField reads a non-negative integer field.
func numberField(raw []byte, key string) (int64, bool) {
	i := bytes.Index(raw, []byte(key))
	if i < 0 {
		return 0, false
	}
	v := raw[i+len(key):]
	j := 0
	for j < len(v) && j < 18 && v[j] >= '0' && v[j] <= '9' {
		j++
	}
	if j == 0 {
		return 0, false
	}
	var n int64
	for _, c := range v[:j] {
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// decodeMulaw decodes a base64 μ-law payload into pcm (grown as needed)
// using scratch for the bytes.
func decodeMulaw(b64 []byte, scratch []byte, pcm []int16) ([]int16, []byte, bool) {
	n := base64.StdEncoding.DecodedLen(len(b64))
	if cap(scratch) < n {
		scratch = make([]byte, n)
	}
	n, err := base64.StdEncoding.Decode(scratch[:n], b64)
	if err != nil {
		return pcm, scratch, false
	}
	if cap(pcm) < n {
		pcm = make([]int16, n)
	}
	pcm = pcm[:n]
	g711.PCMU.Decode(scratch[:n], pcm)
	return pcm, scratch, true
}

// Input frames the subscriber sends: 20 ms of μ-law at 8 kHz, a marker
// (a 1 kHz burst at -6 dBFS) or silence, each already in base64.
var markerB64, silenceB64 = inputFrames()

func inputFrames() (marker, silence []byte) {
	pcm := make([]int16, 160)
	for i := range pcm {
		// 1 kHz at 8 kHz: an eighth of a cycle per sample.
		pcm[i] = int16(16384 * sin8[i%8])
	}
	mu := make([]byte, 160)
	g711.PCMU.Encode(pcm, mu)
	marker = []byte(base64.StdEncoding.EncodeToString(mu))
	clear(pcm)
	g711.PCMU.Encode(pcm, mu)
	silence = []byte(base64.StdEncoding.EncodeToString(mu))
	return marker, silence
}

// sin8 is one cycle of a sine in eight samples.
var sin8 = [8]float64{0, 0.7071067811865476, 1, 0.7071067811865476, 0, -0.7071067811865476, -1, -0.7071067811865476}

// AppendAudioInput appends audio.input frame n (as the agent; a marker when
// IsMarker(n)) to dst.
func AppendAudioInput(dst []byte, n int64) []byte {
	dst = append(dst, `{"type":"audio.input","sequence":`...)
	dst = strconv.AppendInt(dst, n, 10)
	dst = append(dst, `,"timestamp_ms":`...)
	dst = strconv.AppendInt(dst, n*20, 10)
	dst = append(dst, `,"speaker":"agent","audio":{"encoding":"mulaw","sample_rate_hz":8000,"payload":"`...)
	if IsMarker(n) {
		dst = append(dst, markerB64...)
	} else {
		dst = append(dst, silenceB64...)
	}
	return append(dst, `"}}`...)
}
