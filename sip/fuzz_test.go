package sip_test

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/sip"
)

// FuzzInvite sends INVITEs with arbitrary bodies to a running server over
// UDP, each to a new session: every one gets a final answer (200, or 400/488 for SDP it cannot
// use), and the server keeps answering.
func FuzzInvite(f *testing.F) {
	fx := newFixture(f, "127.0.0.1/32")
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { conn.Close() })
	local := conn.LocalAddr().String()
	rtp := netip.MustParseAddrPort("127.0.0.1:40000")
	gsm := sip.Codec{PayloadType: 3, Name: "GSM", ClockRate: 8000, Channels: 1}
	for _, body := range [][]byte{
		sip.AnswerSDP(1, rtp, sip.SendRecv, sip.Supported[0]),
		sip.AnswerSDP(1, rtp, sip.SendOnly, gsm),
		[]byte("v=0\r\nm=audio 9 RTP/AVP 0\r\n"),
		[]byte("\x00\xff garbage"),
	} {
		f.Add(body)
	}
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, body []byte) {
		i := n.Add(1)
		s, err := fx.m.Create(fx.ctx, fx.sc, session.CreateParams{Mode: "media_stream"}) // a BYE ends the last one
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _, _ = fx.m.End(fx.ctx, fx.sc, s.ID, session.EndExplicit) }()
		srv := fx.srv.Addr().String()
		msg := fmt.Sprintf("INVITE sip:%[1]s@%[2]s SIP/2.0\r\nVia: SIP/2.0/UDP %[3]s;branch=z9hG4bKfuzz%[4]d\r\n"+
			"From: <sip:fuzz@%[3]s>;tag=f%[4]d\r\nTo: <sip:%[1]s@%[2]s>\r\nCall-ID: fuzz-%[4]d\r\nCSeq: 1 INVITE\r\n"+
			"Contact: <sip:fuzz@%[3]s>\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: %[5]d\r\n\r\n",
			s.ID, srv, local, i, len(body))
		to, _ := net.ResolveUDPAddr("udp", srv)
		if _, err := conn.WriteTo(append([]byte(msg), body...), to); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 65535)
		_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		for {
			k, _, err := conn.ReadFrom(buf)
			if err != nil {
				t.Fatalf("no final answer: %v", err)
			}
			res := string(buf[:k])
			if !strings.Contains(res, "fuzz-"+strconv.FormatInt(i, 10)+"\r\n") {
				continue // a retransmission for an earlier INVITE
			}
			code := 0
			if f := strings.Fields(res); len(f) > 1 && f[0] == "SIP/2.0" {
				code, _ = strconv.Atoi(f[1])
			}
			if code < 200 {
				continue
			}
			if code != 200 && code != 400 && code != 488 {
				t.Fatalf("answered %d", code)
			}
			if code == 200 { // acknowledged and hung up, as a phone would
				for _, m := range []string{"ACK", "BYE"} {
					req := strings.NewReplacer("INVITE sip:", m+" sip:", "1 INVITE", map[string]string{"ACK": "1 ACK", "BYE": "2 BYE"}[m],
						"branch=z9hG4bKfuzz", "branch=z9hG4bK"+m, "To: <sip:"+s.ID+"@"+srv+">", headerLine(res, "To:")).Replace(msg)
					req = req[:strings.Index(req, "Content-Type:")] + "Content-Length: 0\r\n\r\n"
					if _, err := conn.WriteTo([]byte(req), to); err != nil {
						t.Fatal(err)
					}
				}
				for { // the BYE's 200
					k, _, err := conn.ReadFrom(buf)
					if err != nil {
						t.Fatalf("BYE not answered: %v", err)
					}
					if strings.Contains(string(buf[:k]), "2 BYE") {
						break
					}
				}
			}
			return
		}
	})
}

// headerLine returns the line of msg that starts with name.
func headerLine(msg, name string) string {
	for _, l := range strings.Split(msg, "\r\n") {
		if strings.HasPrefix(l, name) {
			return l
		}
	}
	return ""
}
