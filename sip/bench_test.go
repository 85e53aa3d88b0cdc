package sip

import (
	"net/netip"
	"testing"

	"github.com/voxgate/voxgate/media"
	"github.com/voxgate/voxgate/media/rtpio"
)

// BenchmarkAnswerSDP answers an INVITE's offer: parse, negotiate, write the
// answer.
func BenchmarkAnswerSDP(b *testing.B) {
	body := []byte(baresipOffer)
	local := netip.MustParseAddrPort("127.0.0.1:20000")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := answerTo(body, local); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCallReadFrame is an answered PCMU call's receive path: a 20 ms
// RTP packet from the phone over loopback UDP to the frame the session
// reads from the leg.
func BenchmarkCallReadFrame(b *testing.B) {
	rx, err := rtpio.Listen(rtpio.Config{Local: "127.0.0.1:0", PayloadType: 0, ClockRate: 8000, DTMFPayloadType: 101, MediaTimeout: -1})
	if err != nil {
		b.Fatal(err)
	}
	call := &Call{rtp: rx, format: formatOf(Supported[0]), done: make(chan struct{})}
	defer rx.Close()
	phone, err := rtpio.Listen(rtpio.Config{Local: "127.0.0.1:0", PayloadType: 0, ClockRate: 8000, MediaTimeout: -1, Remote: rx.LocalAddr()})
	if err != nil {
		b.Fatal(err)
	}
	defer phone.Close()
	out := media.Frame{Payload: make([]byte, 160)}
	var in media.Frame
	b.ReportAllocs()
	for b.Loop() {
		if err := phone.WriteFrame(out); err != nil {
			b.Fatal(err)
		}
		if err := call.ReadFrame(&in); err != nil {
			b.Fatal(err)
		}
	}
}
