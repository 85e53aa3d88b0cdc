package stream

import (
	"bytes"
	"errors"
	"testing"
)

func FuzzDecodeMessage(f *testing.F) {
	for _, s := range []string{
		`{"type":"audio.input","sequence":1,"timestamp_ms":0,"speaker":"customer","audio":{"encoding":"mulaw","sample_rate_hz":8000,"payload":"//8A"}}`,
		`{"type":"audio.input","speaker":"agent","audio":{"encoding":"pcm16","sample_rate_hz":48000,"payload":"AAAAAA=="}}`,
		`{"type":"ping"}`, `{"type":"mark","name":"m1"}`, `{"type":"audio.clear"}`, `{"type":"session.end"}`,
		`{"type":"dtmf.send","digits":"12#","call_id":"call_x"}`, `{"type":7}`, `[]`, `null`, `{"audio":{}}`,
		`{"type":"tool.result","tool_call_id":"call_1","result":{"status":"shipped"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, payload, err := DecodeMessage(raw)
		// The allocation-free audio.input parser accepts only what
		// DecodeMessage accepts, with the same result.
		var fast inputDecoder
		if spk, in, p, ok := fast.decode(raw); ok {
			if err != nil || m.Type != "audio.input" || string(spk) != m.Speaker || !bytes.Equal(p, payload) {
				t.Fatalf("fast audio.input parse disagrees: %v %+v", err, m)
			}
			if want, _ := inputFormat(m.Audio.Encoding, m.Audio.SampleRateHz); in != want {
				t.Fatalf("fast format %v, want %v", in, want)
			}
		}
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
			_, _, _ = newDecoder().decode("customer", in, payload)
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
	for _, chunk := range []uint64{0, 7} {
		f.Add(appendTwilioMedia(nil, "MZ1", chunk, chunk, 120, []byte("//8A")))
	}
	f.Add([]byte(` { "event" : "media" , "media" : { "payload" : "AAAA" } } `))
	f.Add([]byte(`{"event":"media","media":{"payload":"AAAA","Payload":"//8A"}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, payload, err := DecodeTwilio(raw)
		// The allocation-free path for plain media agrees with the decoder.
		if fast, ok := new(mediaDecoder).decode(raw); ok && (err != nil || m.Event != "media" || !bytes.Equal(fast, payload)) {
			t.Fatalf("fast path took %q as media %x; the decoder says %q %x %v", raw, fast, m.Event, payload, err)
		}
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
			_, _, _ = newDecoder().decode("customer", audioFormat{"mulaw", 8000}, payload)
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

// TestMediaDecoderTakesPlainForms checks that the forms Twilio, bots and
// the gateway itself send take the allocation-free path.
func TestMediaDecoderTakesPlainForms(t *testing.T) {
	for _, raw := range []string{
		`{"event":"media","sequenceNumber":"3","streamSid":"MZ1","media":{"track":"inbound","chunk":"1","timestamp":"5","payload":"//8A"}}`,
		`{"event":"media","streamSid":"MZ1","media":{"payload":"//8A"}}`,
		`{ "media": {"payload": "//8A"}, "event": "media" }`,
		string(appendTwilioMedia(nil, "MZ1", 9, 8, 140, []byte("//8A"))),
	} {
		var md mediaDecoder
		if got, ok := md.decode([]byte(raw)); !ok || !bytes.Equal(got, []byte{0xff, 0xff, 0}) {
			t.Errorf("%s: %x %v", raw, got, ok)
		}
	}
	for _, raw := range []string{
		`{"event":"media","media":{"payload":"//8A"},"mark":{"name":"x"}}`, // other keys: the decoder's
		`{"event":"me\u0064ia","media":{"payload":"//8A"}}`,
		`{"event":"media","media":{"payload":"//8A"}`,
		`{"event":"media","media":{"payload":"//8A"}}x`,
		`{"event":"media","media":{"payload":"//8A",}}`,
		`{"event":"media","event":"media","media":{"payload":"//8A"}}`,
	} {
		var md mediaDecoder
		if got, ok := md.decode([]byte(raw)); ok {
			t.Errorf("%s: taken as media %x", raw, got)
		}
	}
}
