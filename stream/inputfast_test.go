package stream

import (
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/voxgate/voxgate/session"
)

// TestInputDecoderAllocatesNothing: a 20 ms pcm16 audio.input is parsed and
// its payload decoded with no allocation once warm, and matches
// DecodeMessage.
func TestInputDecoderAllocatesNothing(t *testing.T) {
	pcm := make([]byte, 640)
	for i := range pcm {
		pcm[i] = byte(i)
	}
	raw := []byte(fmt.Sprintf(`{"type":"audio.input","sequence":12,"timestamp_ms":240,"speaker":"agent",`+
		`"audio":{"encoding":"pcm16","sample_rate_hz":16000,"payload":%q}}`, base64.StdEncoding.EncodeToString(pcm)))
	var d inputDecoder
	spk, in, payload, ok := d.decode(raw)
	if !ok || spk != session.SpeakerAgent || in != (audioFormat{"pcm16", 16000}) || string(payload) != string(pcm) {
		t.Fatalf("decode: %v %v %v %d bytes", ok, spk, in, len(payload))
	}
	if n := testing.AllocsPerRun(100, func() { d.decode(raw) }); n != 0 {
		t.Fatalf("%v allocations per audio.input", n)
	}
	for _, other := range []string{`{"type":"ping"}`, `{"type":"audio.input","speaker":"agent","audio":{"encoding":"pcm16","sample_rate_hz":16000,"payload":"AA=="},"x":1}`,
		`{"type":"audio.input","speaker":"bob","audio":{"encoding":"pcm16","sample_rate_hz":16000,"payload":"AA=="}}`} {
		if _, _, _, ok := d.decode([]byte(other)); ok {
			t.Fatalf("fast path took %s", other)
		}
	}
}
