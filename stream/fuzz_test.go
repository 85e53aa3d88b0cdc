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

func FuzzDecodeTwilio(f *testing.F) {
	for _, s := range []string{
		`{"event":"connected","protocol":"Call","version":"1.0.0"}`,
		`{"event":"start","sequenceNumber":"1","streamSid":"MZ1","start":{"streamSid":"MZ1","accountSid":"AC1","callSid":"CA1","tracks":["inbound"],"customParameters":{"token":"kst_x"},"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}}}`,
		`{"event":"media","sequenceNumber":"3","streamSid":"MZ1","media":{"track":"inbound","chunk":"1","timestamp":"5","payload":"//8A"}}`,
		`{"event":"dtmf","streamSid":"MZ1","sequenceNumber":"5","dtmf":{"track":"inbound_track","digit":"5"}}`,
		`{"event":"mark","streamSid":"MZ1","sequenceNumber":"4","mark":{"name":"m"}}`,
		`{"event":"clear","streamSid":"MZ1"}`,
		`{"event":"stop","sequenceNumber":"9","streamSid":"MZ1","stop":{"accountSid":"AC1","callSid":"CA1"}}`,
		`{"event":"start","start":{"mediaFormat":{"encoding":"audio/l16","sampleRate":16000}}}`,
		`{"event":"media","media":{"payload":"%%"}}`, `{"event":"dtmf","dtmf":{"digit":"55"}}`, `{"event":1}`, `[]`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, payload, err := DecodeTwilio(raw)
		if err != nil {
			if !errors.Is(err, errBadMessage) && !errors.Is(err, errBadAudio) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		switch m.Event {
		case "start":
			if m.Start == nil {
				t.Fatal("start accepted without its body")
			}
		case "media":
			// Whatever was accepted decodes and frames without panicking.
			_, _ = newDecoder().decode("customer", audioFormat{"mulaw", 8000}, payload)
			newTwilioLeg("MZ", "customer").deliver(payload)
		case "mark":
			if m.Mark.Name == "" {
				t.Fatal("mark accepted without a name")
			}
		case "dtmf":
			if len(m.DTMF.Digit) != 1 {
				t.Fatalf("dtmf digit %q", m.DTMF.Digit)
			}
		case "connected", "clear", "stop":
		default:
			t.Fatalf("accepted event %q", m.Event)
		}
	})
}
