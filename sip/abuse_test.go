package sip_test

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/sip"
	"github.com/voxgate/voxgate/sip/siptest"
)

// scanner sends hand-written requests from its own loopback address, as
// sipvicious does, and reads what comes back.
type scanner struct {
	t    *testing.T
	conn net.PacketConn
	to   net.Addr
	n    int
}

func newScanner(t *testing.T, from string, to net.Addr) *scanner {
	conn, err := net.ListenPacket("udp", from+":0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &scanner{t: t, conn: conn, to: to}
}

// ask sends method for user and returns the final status, 0 for silence.
func (sc *scanner) ask(method, user string) int {
	sc.n++
	local := sc.conn.LocalAddr().String()
	msg := fmt.Sprintf("%[1]s sip:%[2]s@%[3]s SIP/2.0\r\nVia: SIP/2.0/UDP %[4]s;branch=z9hG4bKscan%[5]d\r\n"+
		"From: <sip:100@%[4]s>;tag=s%[5]d\r\nTo: <sip:%[2]s@%[3]s>\r\nCall-ID: scan-%[5]d\r\nCSeq: 1 %[1]s\r\n"+
		"Contact: <sip:100@%[4]s>\r\nUser-Agent: friendly-scanner\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		method, user, sc.to, local, sc.n)
	if _, err := sc.conn.WriteTo([]byte(msg), sc.to); err != nil {
		sc.t.Fatal(err)
	}
	buf := make([]byte, 4096)
	_ = sc.conn.SetReadDeadline(time.Now().Add(700 * time.Millisecond))
	for {
		k, _, err := sc.conn.ReadFrom(buf)
		if err != nil {
			return 0
		}
		res := string(buf[:k])
		if !strings.Contains(res, "scan-"+strconv.Itoa(sc.n)+"\r\n") {
			continue
		}
		if f := strings.Fields(res); len(f) > 1 {
			if code, _ := strconv.Atoi(f[1]); code >= 200 {
				return code
			}
		}
	}
}

// TestScannerLearnsNothingAndIsBanned: a source outside every trunk gets the
// same answer whether the user exists or not, is banned past its rate
// (silence, even for OPTIONS), and calls from the trunk go on meanwhile.
func TestScannerLearnsNothingAndIsBanned(t *testing.T) {
	user, pass := "pbx", "s3cret"
	f := newFixtureConfig(t, session.TrunkParams{InboundCIDRs: &[]string{"127.0.0.1/32"}, Username: &user, Password: &pass},
		sip.Config{Limits: sip.Limits{SourceRate: 0.5, SourceBurst: 4, BanFor: time.Minute}})
	s, err := f.m.Create(f.ctx, f.sc, session.CreateParams{Mode: "media_stream"})
	if err != nil {
		t.Fatal(err)
	}
	gw := net.UDPAddrFromAddrPort(f.srv.Addr())
	sc := newScanner(t, "127.0.0.2", gw)
	// Within its burst: a session that exists, numbers that do not, and an
	// extension all get the same challenge.
	for _, u := range []string{s.ID, "sess_01M8VN5KBP85EHE2HS2JK2BATX", "+15550100", "100"} {
		if code := sc.ask("INVITE", u); code != 401 {
			t.Fatalf("INVITE for %s answered %d", u, code)
		}
	}
	// Past it: silence, and the ban covers every method.
	if code := sc.ask("INVITE", "101"); code != 0 {
		t.Fatalf("INVITE past the rate answered %d", code)
	}
	if code := sc.ask("OPTIONS", "101"); code != 0 {
		t.Fatalf("OPTIONS from a banned source answered %d", code)
	}
	// Another source is not touched by the ban.
	if code := newScanner(t, "127.0.0.3", gw).ask("OPTIONS", "100"); code != 200 {
		t.Fatalf("OPTIONS from another source answered %d", code)
	}
	// The trunk's calls are not limited.
	for range 6 {
		p := siptest.NewPhone(t, 0, 8000)
		if code := p.Call(f.ctx, f.srv.Addr(), s.ID, p.Offer(sip.Supported[0])); code != 200 {
			t.Fatalf("trunk call answered %d", code)
		}
		defer func() { _ = p.Dialog.Bye(f.ctx) }()
	}
	st := f.srv.Stats()
	if st.Bans != 1 || st.Banned != 1 || st.Limited != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// TestOrgCallCap: past the organization's concurrent calls, INVITEs get
// 486 and /dial fails; a call ending frees its place.
func TestOrgCallCap(t *testing.T) {
	f := newFixtureConfig(t, session.TrunkParams{InboundCIDRs: &[]string{"127.0.0.1/32"}}, sip.Config{Limits: sip.Limits{MaxCallsPerOrg: 1}})
	s, err := f.m.Create(f.ctx, f.sc, session.CreateParams{Mode: "media_stream"})
	if err != nil {
		t.Fatal(err)
	}
	first := siptest.NewPhone(t, 0, 8000)
	if code := first.Call(f.ctx, f.srv.Addr(), s.ID, first.Offer(sip.Supported[0])); code != 200 {
		t.Fatalf("first call answered %d", code)
	}
	second := siptest.NewPhone(t, 0, 8000)
	if code := second.Call(f.ctx, f.srv.Addr(), s.ID, second.Offer(sip.Supported[0])); code != 486 {
		t.Fatalf("call over the cap answered %d", code)
	}
	if st := f.srv.Stats(); st.OrgFull != 1 || st.LiveCalls != 1 {
		t.Fatalf("stats %+v", st)
	}
	if err := first.Dialog.Bye(f.ctx); err != nil {
		t.Fatal(err)
	}
	s2, err := f.m.Create(f.ctx, f.sc, session.CreateParams{Mode: "media_stream"}) // the first ended with its call
	if err != nil {
		t.Fatal(err)
	}
	code := 486
	for i := 0; code == 486 && i < 100; i++ {
		time.Sleep(20 * time.Millisecond)
		code = second.Call(f.ctx, f.srv.Addr(), s2.ID, second.Offer(sip.Supported[0]))
	}
	if code != 200 {
		t.Fatalf("call after the first ended answered %d", code)
	}
}
