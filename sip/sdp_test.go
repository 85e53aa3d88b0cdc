package sip

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// Offers as real phones and carriers send them.
const (
	baresipOffer = "v=0\r\no=- 123 456 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=audio 30000 RTP/AVP 96 9 0 8 101\r\na=rtpmap:96 opus/48000/2\r\na=fmtp:96 stereo=1;sprop-stereo=1\r\n" +
		"a=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n" +
		"a=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n"
	// Static payload types without rtpmap, session-level c= and direction, as
	// some carriers send.
	carrierOffer = "v=0\no=carrier 1 1 IN IP4 192.0.2.10\ns=call\nc=IN IP4 192.0.2.10\nt=0 0\na=sendonly\n" +
		"m=audio 40000 RTP/AVP 18 8 0\na=rtpmap:18 G729/8000\n"
	videoFirst = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
		"m=video 9 RTP/AVP 96\r\nc=IN IP4 127.0.0.2\r\na=rtpmap:96 VP8/90000\r\n" +
		"m=audio 5004 RTP/AVP 0\r\nc=IN IP4 127.0.0.3\r\na=inactive\r\n"
)

func TestParseAndNegotiate(t *testing.T) {
	for _, tc := range []struct {
		name, sdp string
		addr      string
		port      int
		codec     string
		dtmf      bool
		dir       Direction
	}{
		{"baresip", baresipOffer, "127.0.0.1", 30000, "opus", true, SendRecv},
		{"carrier", carrierOffer, "192.0.2.10", 40000, "PCMA", false, SendOnly},
		{"video first", videoFirst, "127.0.0.3", 5004, "PCMU", false, Inactive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseSDP([]byte(tc.sdp))
			if err != nil {
				t.Fatal(err)
			}
			if s.Addr.String() != tc.addr || s.Port != tc.port || s.Direction != tc.dir {
				t.Fatalf("parsed %+v", s)
			}
			audio, dtmf, err := Negotiate(s)
			if err != nil || audio.Name != tc.codec || (dtmf != nil) != tc.dtmf {
				t.Fatalf("negotiated %+v %+v %v", audio, dtmf, err)
			}
		})
	}
	// The offerer's payload type is kept for the answer (96 for opus here).
	s, _ := ParseSDP([]byte(baresipOffer))
	audio, dtmf, _ := Negotiate(s)
	if audio.PayloadType != 96 || audio.ClockRate != 48000 || dtmf.PayloadType != 101 {
		t.Fatalf("payload types: %+v %+v", audio, dtmf)
	}
}

func TestNoCommonCodec(t *testing.T) {
	s, err := ParseSDP([]byte("v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 4000 RTP/AVP 18 3\r\na=rtpmap:18 G729/8000\r\na=rtpmap:3 GSM/8000\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Negotiate(s); !errors.Is(err, ErrNoCommonCodec) {
		t.Fatalf("err %v", err)
	}
}

func TestBadSDP(t *testing.T) {
	for _, bad := range []string{"", "hello", "v=0\r\nm=audio 4000 RTP/AVP 0\r\n", "v=0\r\nc=IN IP4 x\r\nm=audio 1 RTP/AVP 0\r\n",
		"v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 99999 RTP/AVP 0\r\n", "v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 4 RTP/AVP 200\r\n"} {
		if _, err := ParseSDP([]byte(bad)); !errors.Is(err, ErrBadSDP) {
			t.Errorf("%q: err %v", bad, err)
		}
	}
}

func TestAnswerRoundTrip(t *testing.T) {
	addr := netip.MustParseAddrPort("127.0.0.1:40002")
	body := AnswerSDP(42, addr, RecvOnly, Supported[3], TelephoneEvent)
	s, err := ParseSDP(body)
	if err != nil {
		t.Fatal(err)
	}
	if s.Addr != addr.Addr() || s.Port != 40002 || s.Direction != RecvOnly || len(s.Codecs) != 2 ||
		s.Codecs[0].Name != "opus" || s.Codecs[0].Channels != 2 || s.Codecs[1].Fmtp != "0-16" || s.Ptime != 20 {
		t.Fatalf("round trip: %+v\n%s", s, body)
	}
	if !strings.HasPrefix(string(body), "v=0\r\no=voxgate 42 42 IN IP4 127.0.0.1\r\n") {
		t.Fatalf("origin line: %s", body)
	}
	if SendOnly.Reverse() != RecvOnly || Inactive.Reverse() != Inactive {
		t.Fatal("Reverse")
	}
}

func FuzzParseSDP(f *testing.F) {
	secured := "v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/SAVP 0\r\n" +
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:32\r\n"
	for _, s := range []string{baresipOffer, carrierOffer, videoFirst, secured, "v=0\r\n", "v=0\nm=audio x"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := ParseSDP(body)
		if err != nil {
			if !errors.Is(err, ErrBadSDP) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if s.HasAudio && !s.Addr.IsValid() {
			t.Fatal("audio without an address")
		}
		if audio, _, err := Negotiate(s); err == nil && audio.Name == "" {
			t.Fatal("negotiated a nameless codec")
		}
		for _, c := range s.Crypto {
			if len(c.Key) != 30 {
				t.Fatalf("a crypto key of %d bytes", len(c.Key))
			}
		}
	})
}
