package stream

import (
	"errors"
	"testing"
)

func FuzzDecodeMessage(f *testing.F) {
	for _, s := range []string{
		`{"type":"audio.input","sequence":1,"timestamp_ms":0,"speaker":"customer","audio":{"encoding":"mulaw","sample_rate_hz":8000,"payload":"//8A"}}`,
		`{"type":"audio.input","speaker":"agent","audio":{"encoding":"pcm16","sample_rate_hz":48000,"payload":"AAAAAA=="}}`,
		`{"type":"ping"}`, `{"type":"mark","name":"m1"}`, `{"type":"audio.clear"}`, `{"type":"session.end"}`,
		`{"type":"dtmf.send","digits":"12#","call_id":"call_x"}`, `{"type":7}`, `[]`, `null`, `{"audio":{}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, payload, err := DecodeMessage(raw)
		if err != nil {
			if !errors.Is(err, errBadMessage) && !errors.Is(err, errBadAudio) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if !clientTypes[m.Type] {
			t.Fatalf("accepted type %q", m.Type)
		}
		if m.Type == "audio.input" {
			in, err := inputFormat(m.Audio.Encoding, m.Audio.SampleRateHz)
			if err != nil {
				t.Fatal(err)
			}
			// Whatever was accepted decodes without panicking.
			_, _ = newDecoder().decode("customer", in, payload)
		}
	})
}
