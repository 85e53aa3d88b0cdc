package sip

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden SDP answers in testdata/sdp")

// goldenAddr is where the golden answers put the gateway's RTP.
var goldenAddr = netip.MustParseAddrPort("192.0.2.1:20000")

// answerTo answers an offer as the gateway does: the offerer's first codec
// we speak (and telephone-event when offered), the mirrored direction.
func answerTo(body []byte, addr netip.AddrPort) ([]byte, error) {
	offer, err := ParseSDP(body)
	if err != nil {
		return nil, err
	}
	audio, dtmf, err := Negotiate(offer)
	if err != nil {
		return nil, err
	}
	codecs := []Codec{audio}
	if dtmf != nil {
		codecs = append(codecs, *dtmf)
	}
	return AnswerSDP(1, addr, offer.Direction.Reverse(), codecs...), nil
}

// golden compares got with testdata/sdp/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "sdp", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s:\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

// TestGoldenAnswers answers offers as Asterisk, FreeSWITCH, a carrier with
// Opus fmtp and an Asterisk hold re-INVITE send them (testdata/sdp/*.offer.sdp)
// and compares with the expected answers (*.answer.sdp; go test -update
// rewrites them).
func TestGoldenAnswers(t *testing.T) {
	offers, _ := filepath.Glob(filepath.Join("testdata", "sdp", "*.offer.sdp"))
	if len(offers) < 4 {
		t.Fatalf("offers: %v", offers)
	}
	for _, path := range offers {
		name := strings.TrimSuffix(filepath.Base(path), ".offer.sdp")
		t.Run(name, func(t *testing.T) {
			offer, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			answer, err := answerTo(offer, goldenAddr)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name+".answer.sdp", answer)
		})
	}
}

// TestGoldenLateOffer is a carrier's INVITE without SDP: the gateway offers
// every codec it speaks in its 200 (late-offer.offer-in-200.sdp) and takes
// the codec of the carrier's answer in the ACK.
func TestGoldenLateOffer(t *testing.T) {
	golden(t, "late-offer.offer-in-200.sdp", AnswerSDP(1, goldenAddr, SendRecv, append(append([]Codec(nil), Supported...), TelephoneEvent)...))
	ack, err := os.ReadFile(filepath.Join("testdata", "sdp", "late-offer.ack-answer.sdp"))
	if err != nil {
		t.Fatal(err)
	}
	answer, err := ParseSDP(ack)
	if err != nil {
		t.Fatal(err)
	}
	audio, dtmf, err := Negotiate(answer)
	if err != nil || audio.Name != "PCMA" || dtmf == nil || dtmf.PayloadType != 101 || answer.Port != 41000 {
		t.Fatalf("ACK answer: %+v %+v %v", audio, dtmf, err)
	}
}
