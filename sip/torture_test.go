package sip_test

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/voxgate/voxgate/media/mediatest"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/session/sessiontest"
	"github.com/voxgate/voxgate/sip"
	"github.com/voxgate/voxgate/sip/siptest"
	"github.com/voxgate/voxgate/store"
)

// TestTortureMessages sends the RFC 4475 / RFC 5118 style messages of
// testdata/torture at the SIP port while a call carries a tone: each is
// answered without a call being set up (or dropped when it cannot be
// parsed), the tone keeps reaching the session, and the gateway still
// answers OPTIONS at the end.
func TestTortureMessages(t *testing.T) {
	f := newFixture(t, "127.0.0.1/32")
	s, err := f.m.Create(f.ctx, f.sc, session.CreateParams{Mode: "media_stream"})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := f.m.Subscribe(f.ctx, s.ID, session.SubscribeOptions{AudioQueue: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	p := siptest.NewPhone(t, 0, 8000)
	if code := p.Call(f.ctx, f.srv.Addr(), s.ID, p.Offer(sip.Supported[0])); code != 200 {
		t.Fatalf("call answered %d", code)
	}
	toneDone := make(chan struct{})
	go func() { defer close(toneDone); p.SendTone(1000, 4*time.Second) }()

	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	gw := net.UDPAddrFromAddrPort(f.srv.Addr())
	files, _ := filepath.Glob("testdata/torture/*.sip")
	if len(files) < 15 {
		t.Fatalf("only %d torture messages", len(files))
	}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(file), ".sip")
		// Each its own transaction: the RFC's messages share branches.
		msg := strings.NewReplacer("{{gw}}", gw.String(), "{{me}}", conn.LocalAddr().String(), "z9hG4bK", "z9hG4bK"+name+".").Replace(string(raw))
		msg = strings.ReplaceAll(msg, "\n", "\r\n")
		if _, err := conn.WriteTo([]byte(msg), gw); err != nil {
			t.Fatal(err)
		}
		code := finalAnswer(conn, callIDIn(msg))
		t.Logf("%-10s → %s", name, map[bool]string{true: strconv.Itoa(code), false: "dropped"}[code != 0])
		if want := tortureAnswers[name]; code != want {
			t.Errorf("%s: answered %d, want %d (0: dropped)", name, code, want)
		}
	}
	// The call's audio went on through all of it.
	heard := sessiontest.Hear(t, sub, session.SpeakerCustomer, session.Rate)
	mediatest.CheckTone(t, heard[session.Rate/2:], session.Rate, mediatest.ToneWant{Freq: 1000, Level: -10, MinSNR: 25})
	<-toneDone
	if code := newScanner(t, "127.0.0.1", gw).ask("OPTIONS", "health"); code != 200 {
		t.Fatalf("OPTIONS after the torture answered %d", code)
	}
	calls, _, _ := f.m.ListCalls(f.ctx, f.sc, store.ListQuery{Limit: 10, SessionID: s.ID})
	if len(calls) != 1 || calls[0].Status != session.CallAnswered {
		t.Fatalf("calls after the torture: %+v", calls)
	}
	if err := p.Dialog.Bye(f.ctx); err != nil {
		t.Fatal(err)
	}
}

// callIDIn is the Call-ID of a message, long or compact form.
func callIDIn(msg string) string {
	for _, line := range strings.Split(msg, "\r\n") {
		name, value, ok := strings.Cut(line, ":")
		if n := strings.ToLower(strings.TrimSpace(name)); ok && (n == "call-id" || n == "i") {
			return strings.TrimSpace(value)
		}
	}
	return "\x00none"
}

// tortureAnswers is the final answer each torture message gets, 0 for
// dropped unanswered: what the SIP parser cannot read, and what it reads too
// broken to answer safely (no usable Via, From, To, Call-ID or CSeq).
var tortureAnswers = map[string]int{
	"esc01":      404, // escaped user part: parsed, routed, no such user
	"ipv6ok":     200,
	"zeromf":     200, // Max-Forwards 0 concerns proxies; the UAS answers
	"mismatch01": 400, // CSeq method is not the request's
	"unkscm":     416, // not a sip: or sips: Request-URI
}

// finalAnswer reads the first final response for callID, 0 when none comes.
func finalAnswer(conn net.PacketConn, callID string) int {
	buf := make([]byte, 8192)
	_ = conn.SetReadDeadline(time.Now().Add(400 * time.Millisecond))
	for {
		k, _, err := conn.ReadFrom(buf)
		if err != nil {
			return 0
		}
		if !strings.Contains(string(buf[:k]), callID) {
			continue // an earlier message's answer, retransmitted
		}
		if f := strings.Fields(string(buf[:k])); len(f) > 1 && f[0] == "SIP/2.0" {
			if code, _ := strconv.Atoi(f[1]); code >= 200 {
				return code
			}
		}
	}
}
