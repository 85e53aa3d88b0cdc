package sip_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"go.uber.org/goleak"

	"github.com/voxgate/voxgate/media"
	"github.com/voxgate/voxgate/media/mediatest"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/session/sessiontest"
	"github.com/voxgate/voxgate/sip"
	"github.com/voxgate/voxgate/sip/siptest"
	"github.com/voxgate/voxgate/store"
	"github.com/voxgate/voxgate/store/storetest"
	"github.com/voxgate/voxgate/transcode/g711"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, siptest.LeakOptions()...) }

type fixture struct {
	t   testing.TB
	m   *session.Manager
	srv *sip.Server
	st  *store.Store
	sc  store.Scope
	ctx context.Context
}

// newFixture runs a SIP server on loopback with a trunk for cidr.
func newFixture(t testing.TB, cidr string) *fixture {
	return newFixtureTrunk(t, session.TrunkParams{InboundCIDRs: &[]string{cidr}})
}

// newFixtureTrunk runs a SIP server on loopback with one trunk.
func newFixtureTrunk(t testing.TB, trunk session.TrunkParams) *fixture {
	return newFixtureConfig(t, trunk, sip.Config{})
}

// newFixtureConfig runs a SIP server on loopback with one trunk and the
// limits of cfg.
func newFixtureConfig(t testing.TB, trunk session.TrunkParams, cfg sip.Config) *fixture {
	return newFixtureSessions(t, trunk, cfg, session.Config{})
}

// newFixtureSessions is newFixtureConfig with sessions configured by scfg.
func newFixtureSessions(t testing.TB, trunk session.TrunkParams, cfg sip.Config, scfg session.Config) *fixture {
	st := storetest.OpenConfig(t, store.Config{DataDir: t.TempDir()})
	scfg.PublicURL, scfg.SIPHost = "http://127.0.0.1:8080", "127.0.0.1"
	m, err := session.NewManager(scfg, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	t.Cleanup(func() { // after the server closed: no session left running
		end, stop := context.WithTimeout(context.Background(), 10*time.Second)
		defer stop()
		m.EndAll(end, session.EndShutdown)
		for m.Metrics().LiveSessions > 0 && end.Err() == nil {
			time.Sleep(10 * time.Millisecond)
		}
	})
	sc := store.Scope{OrgID: "org_sip", Livemode: true}
	name := "carrier"
	trunk.Name = &name
	if _, err := m.CreateTrunk(ctx, sc, trunk); err != nil {
		t.Fatal(err)
	}
	cfg.Addr, cfg.MediaTimeout = "127.0.0.1:0", 5*time.Second
	srv, err := sip.Listen(cfg, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.Serve()
	t.Cleanup(func() { srv.Close() })
	return &fixture{t: t, m: m, srv: srv, st: st, sc: sc, ctx: ctx}
}

func TestInboundCallJoinsTheSession(t *testing.T) {
	f := newFixture(t, "127.0.0.1/32")
	s, err := f.m.Create(f.ctx, f.sc, session.CreateParams{Mode: "media_stream"})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := f.m.Subscribe(f.ctx, s.ID, session.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	p := siptest.NewPhone(t, 0, 8000)
	if code := p.Call(f.ctx, f.srv.Addr(), s.ID, p.Offer(sip.Supported[0], sip.TelephoneEvent), sipmsg.NewHeader("X-Ticket", "T-9")); code != 200 {
		t.Fatalf("INVITE answered %d", code)
	}
	go p.SendTone(1000, 1500*time.Millisecond)
	// The subscriber hears the phone as the customer.
	heard := sessiontest.Hear(t, sub, session.SpeakerCustomer, session.Rate)
	mediatest.CheckTone(t, heard[4000:], session.Rate, mediatest.ToneWant{Freq: 1000, Level: -10, MinSNR: 25})
	// The phone hears what the agent side says.
	if err := sub.Input(session.SpeakerAgent, mediatest.Tone(session.Rate, 600, -10, session.Rate)); err != nil {
		t.Fatal(err)
	}
	p.Hears(600)
	// DTMF from the phone arrives once per digit.
	if err := p.RTP.SendDTMF("42"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"4", "2"} {
		ev := sessiontest.Next(t, sub, "dtmf.received")
		if !strings.Contains(string(ev.Data), `"digit":"`+want+`"`) {
			t.Fatalf("dtmf: %s", ev.Data)
		}
	}
	calls, _, _ := f.m.ListCalls(f.ctx, f.sc, store.ListQuery{Limit: 10, SessionID: s.ID})
	if len(calls) != 1 || calls[0].Status != session.CallAnswered || calls[0].Codec != "PCMU" || calls[0].SIPHeaders["X-Ticket"] != "T-9" {
		t.Fatalf("calls: %+v", calls)
	}
	// Hold and resume: the answer mirrors the direction.
	for _, tc := range []struct{ offer, want sip.Direction }{{sip.SendOnly, sip.RecvOnly}, {sip.Inactive, sip.Inactive}, {sip.SendRecv, sip.SendRecv}} {
		re := sipmsg.NewRequest(sipmsg.INVITE, p.Dialog.InviteResponse.Contact().Address)
		re.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
		re.SetBody(sip.AnswerSDP(7, p.RTP.LocalAddr(), tc.offer, sip.Supported[0], sip.TelephoneEvent))
		res, err := p.Dialog.Do(f.ctx, re)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("re-INVITE %s: %v %v", tc.offer, err, res)
		}
		ans, err := sip.ParseSDP(res.Body())
		if err != nil || ans.Direction != tc.want {
			t.Fatalf("re-INVITE %s answered %s (%v)", tc.offer, ans.Direction, err)
		}
	}
	if n := f.srv.Calls(); n != 1 {
		t.Fatalf("%d calls in progress, want 1", n)
	}
	// The phone hangs up: the call ends, and with the last call the session.
	if err := p.Dialog.Bye(f.ctx); err != nil {
		t.Fatal(err)
	}
	if ev := sessiontest.Next(t, sub, session.EventSessionEnded); ev.Reason != session.EndCallsEnded {
		t.Fatalf("session ended with %s", ev.Reason)
	}
	var c session.Call
	for range 250 { // the call's end is recorded as the leg leaves, alongside the session's
		if c, _ = f.m.GetCall(f.ctx, f.sc, calls[0].ID); c.Status == session.CallEnded {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if c.Status != session.CallEnded || c.HangupCause != "remote_bye" {
		t.Fatalf("call: %+v", c)
	}
	if n := f.srv.Calls(); n != 0 {
		t.Fatalf("%d calls in progress after the call ended", n)
	}
}

func TestInboundRefusals(t *testing.T) {
	f := newFixture(t, "127.0.0.1/32")
	s, _ := f.m.Create(f.ctx, f.sc, session.CreateParams{Mode: "media_stream"})
	p := siptest.NewPhone(t, 0, 8000)
	if code := p.Call(f.ctx, f.srv.Addr(), "sess_01JD3ZZZZZZZZZZZZZZZZZZZZZ", p.Offer(sip.Supported[0])); code != 404 {
		t.Fatalf("unknown session: %d", code)
	}
	if code := p.Call(f.ctx, f.srv.Addr(), "+14155550100", p.Offer(sip.Supported[0])); code != 404 {
		t.Fatalf("unknown number: %d", code)
	}
	gsm := sip.Codec{PayloadType: 3, Name: "GSM", ClockRate: 8000, Channels: 1}
	if code := p.Call(f.ctx, f.srv.Addr(), s.ID, p.Offer(gsm)); code != 488 {
		t.Fatalf("no common codec: %d", code)
	}
	f.srv.Drain()
	if code := p.Call(f.ctx, f.srv.Addr(), s.ID, p.Offer(sip.Supported[0])); code != 503 {
		t.Fatalf("draining: %d", code)
	}
	// A source no trunk admits.
	g := newFixture(t, "10.0.0.0/8")
	s2, _ := g.m.Create(g.ctx, g.sc, session.CreateParams{Mode: "media_stream"})
	if code := p.Call(g.ctx, g.srv.Addr(), s2.ID, p.Offer(sip.Supported[0])); code != 403 {
		t.Fatalf("unknown source: %d", code)
	}
}

// TestLateOffer calls with an INVITE without SDP: the gateway offers in its
// 200 and takes the answer from the ACK.
func TestLateOffer(t *testing.T) {
	f := newFixture(t, "127.0.0.1/32")
	s, _ := f.m.Create(f.ctx, f.sc, session.CreateParams{Mode: "media_stream"})
	sub, err := f.m.Subscribe(f.ctx, s.ID, session.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	p := siptest.NewPhone(t, 8, 8000) // the phone answers with PCMA
	addr := f.srv.Addr()
	dlg, err := p.Dialogs.Invite(f.ctx, sipmsg.Uri{User: s.ID, Host: addr.Addr().String(), Port: int(addr.Port())}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := dlg.WaitAnswer(f.ctx, sipgo.AnswerOptions{}); err != nil {
		t.Fatal(err)
	}
	offer, err := sip.ParseSDP(dlg.InviteResponse.Body())
	if err != nil || len(offer.Codecs) < 4 {
		t.Fatalf("the 200 carries no full offer: %v\n%s", err, dlg.InviteResponse.Body())
	}
	// The ACK, as a phone builds it, with the answer: PCMA only.
	res, req := dlg.InviteResponse, dlg.InviteRequest
	ack := sipmsg.NewRequest(sipmsg.ACK, res.Contact().Address)
	for _, h := range []sipmsg.Header{req.From(), res.To(), req.CallID(), req.CSeq()} {
		ack.AppendHeader(sipmsg.HeaderClone(h))
	}
	ack.CSeq().MethodName = sipmsg.ACK
	ack.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
	ack.SetBody(sip.AnswerSDP(8, p.RTP.LocalAddr(), sip.SendRecv, sip.Supported[1]))
	if err := dlg.WriteAck(f.ctx, ack); err != nil {
		t.Fatal(err)
	}
	p.RTP.SetRemote(netip.AddrPortFrom(offer.Addr, uint16(offer.Port)))
	waitCall := func() session.Call {
		for range 200 {
			calls, _, _ := f.m.ListCalls(f.ctx, f.sc, store.ListQuery{Limit: 1, SessionID: s.ID})
			if len(calls) == 1 && calls[0].Status == session.CallAnswered {
				return calls[0]
			}
			time.Sleep(20 * time.Millisecond)
		}
		calls, _, _ := f.m.ListCalls(f.ctx, f.sc, store.ListQuery{Limit: 1, SessionID: s.ID})
		t.Fatalf("the call was not answered: %+v", calls)
		return session.Call{}
	}
	if c := waitCall(); c.Codec != "PCMA" {
		t.Fatalf("codec %s", c.Codec)
	}
	// PCMA from the phone reaches the session.
	played := make(chan struct{})
	defer func() { <-played }()
	go func() {
		defer close(played)
		sine := mediatest.NewSine(8000, 750, -10)
		pcm, payload := make([]int16, 160), make([]byte, 160)
		for range 50 {
			sine.Read(pcm)
			g711.PCMA.Encode(pcm, payload)
			_ = p.RTP.WriteFrame(media.Frame{Payload: payload})
			time.Sleep(20 * time.Millisecond)
		}
	}()
	heard := sessiontest.Hear(t, sub, "", session.Rate/2)
	mediatest.CheckTone(t, heard[2000:], session.Rate, mediatest.ToneWant{Freq: 750, Level: -10, MinSNR: 25})
	_ = dlg.Bye(f.ctx)
}

func (f *fixture) dial(to netip.AddrPort, timeout time.Duration) (session.Call, string, error) {
	f.t.Helper()
	s, err := f.m.Create(f.ctx, f.sc, session.CreateParams{Mode: "media_stream"})
	if err != nil {
		f.t.Fatal(err)
	}
	f.m.SetDialer(f.srv)
	secs := int(timeout / time.Second)
	call, err := f.m.Dial(f.ctx, f.sc, s.ID, session.DialParams{To: "sip:callee@" + to.String(), TimeoutSeconds: &secs})
	return call, s.ID, err
}

// twoWay checks a connected phone both ways: its 1 kHz reaches the
// subscriber as the customer, and the subscriber's 600 Hz as the agent
// reaches the phone.
func twoWay(t *testing.T, sub *session.Subscription, p *siptest.Phone) {
	t.Helper()
	go p.SendTone(1000, 1500*time.Millisecond)
	heard := sessiontest.Hear(t, sub, session.SpeakerCustomer, session.Rate)
	mediatest.CheckTone(t, heard[4000:], session.Rate, mediatest.ToneWant{Freq: 1000, Level: -10, MinSNR: 25})
	if err := sub.Input(session.SpeakerAgent, mediatest.Tone(session.Rate, 600, -10, session.Rate)); err != nil {
		t.Fatal(err)
	}
	p.Hears(600)
	time.Sleep(600 * time.Millisecond) // the phone's tone ends before it hangs up
}

func (f *fixture) waitCall(callID string, want session.CallStatus) session.Call {
	f.t.Helper()
	var c session.Call
	for range 500 {
		if c, _ = f.m.GetCall(f.ctx, f.sc, callID); c.Status == want {
			return c
		}
		time.Sleep(20 * time.Millisecond)
	}
	f.t.Fatalf("call is %s, want %s: %+v", c.Status, want, c)
	return c
}

func TestOutboundCallAnswered(t *testing.T) {
	f := newFixture(t, "127.0.0.1/32")
	c := siptest.NewCallee(t, 200, "", "")
	call, sid, err := f.dial(c.Addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := f.m.Subscribe(f.ctx, sid, session.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	<-c.Acks
	got := f.waitCall(call.ID, session.CallAnswered)
	if got.Codec != "PCMU" || got.Speaker != session.SpeakerCustomer {
		t.Fatalf("call %+v", got)
	}
	go c.SendTone(900, time.Second)
	heard := sessiontest.Hear(t, sub, "", session.Rate/2)
	mediatest.CheckTone(t, heard[2000:], session.Rate, mediatest.ToneWant{Freq: 900, Level: -10, MinSNR: 25})
	// The callee hears the agent.
	if err := sub.Input(session.SpeakerAgent, mediatest.Tone(session.Rate, 600, -10, session.Rate)); err != nil {
		t.Fatal(err)
	}
	c.Hears(600)
	// Hanging up through the manager sends BYE.
	if _, err := f.m.Hangup(f.ctx, f.sc, sid, call.ID); err != nil {
		t.Fatal(err)
	}
	if ended := f.waitCall(call.ID, session.CallEnded); ended.HangupCause != "api_hangup" {
		t.Fatalf("cause %q", ended.HangupCause)
	}
	time.Sleep(1100 * time.Millisecond) // let the tone finish before the phone closes
}

// A dialed call's max_duration_seconds hangs it up (a BYE to the callee)
// with the cause max_duration.
func TestOutboundMaxDuration(t *testing.T) {
	f := newFixture(t, "127.0.0.1/32")
	c := siptest.NewCallee(t, 200, "", "")
	s, err := f.m.Create(f.ctx, f.sc, session.CreateParams{Mode: "media_stream"})
	if err != nil {
		t.Fatal(err)
	}
	f.m.SetDialer(f.srv)
	limit := 1
	call, err := f.m.Dial(f.ctx, f.sc, s.ID, session.DialParams{To: "sip:callee@" + c.Addr.String(), MaxDurationSeconds: limit})
	if err != nil {
		t.Fatal(err)
	}
	<-c.Acks
	answered := f.waitCall(call.ID, session.CallAnswered)
	select {
	case <-c.Byes:
	case <-time.After(10 * time.Second):
		t.Fatal("the callee got no BYE after the call's max duration")
	}
	ended := f.waitCall(call.ID, session.CallEnded)
	if ended.HangupCause != "max_duration" {
		t.Fatalf("cause %q, want max_duration", ended.HangupCause)
	}
	if d := ended.EndedAt.Sub(*answered.AnsweredAt); d < time.Duration(limit)*time.Second-100*time.Millisecond {
		t.Fatalf("ended %v after the answer, before its max duration", d)
	}
}

func TestOutboundBusyAndNoAnswer(t *testing.T) {
	f := newFixture(t, "127.0.0.1/32")
	call, _, err := f.dial(siptest.NewCallee(t, 486, "", "").Addr, 10*time.Second)
	var de *session.DialError
	if !errors.As(err, &de) || de.SIPStatus != 486 {
		t.Fatalf("busy: %v %+v", err, call)
	}
	calls, _, _ := f.m.ListCalls(f.ctx, f.sc, store.ListQuery{Limit: 1})
	if calls[0].Status != session.CallBusy || *calls[0].SIPStatus != 486 {
		t.Fatalf("busy call %+v", calls[0])
	}
	// Nobody answers within the timeout: no_answer, and the INVITE is canceled.
	ringing := siptest.NewCallee(t, 0, "", "")
	call, _, err = f.dial(ringing.Addr, time.Second)
	if err != nil && !errors.As(err, &de) {
		t.Fatal(err)
	}
	if call.ID == "" {
		calls, _, _ = f.m.ListCalls(f.ctx, f.sc, store.ListQuery{Limit: 1})
		call = calls[0]
	}
	if got := f.waitCall(call.ID, session.CallNoAnswer); got.HangupCause != "timeout" {
		t.Fatalf("no answer: %+v", got)
	}
	select {
	case <-ringing.Cancels:
	case <-time.After(5 * time.Second):
		t.Fatal("no CANCEL")
	}
}

// TestSIPpCallsIn places a call from SIPp (Debian's sip-tester): its
// built-in G.711 A-law recording and an RFC 4733 digit reach the session,
// and its BYE ends the call and the session.
func TestSIPpCallsIn(t *testing.T) {
	sipp, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatal("sipp is missing: apt-get install sip-tester (make test installs it)")
	}
	f := newFixture(t, "127.0.0.1/32")
	s, _ := f.m.Create(f.ctx, f.sc, session.CreateParams{Mode: "media_stream"})
	sub, err := f.m.Subscribe(f.ctx, s.ID, session.SubscribeOptions{AudioQueue: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	ctx, cancel := context.WithTimeout(f.ctx, 40*time.Second)
	defer cancel()
	scenario := sippScenario(t, sipp)
	cmd := exec.CommandContext(ctx, sipp, "-sf", scenario, "-s", s.ID, "-m", "1",
		"-i", "127.0.0.1", "-p", "0", "-mp", "0", "-nostdin", "-timeout", "30s", "-timeout_error", f.srv.Addr().String())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sipp: %v\n%s", err, lastLines(out, 30))
	}
	var heard []int16
	var fr session.AudioFrame
	for sub.NextAudio(&fr) {
		if fr.Speaker == session.SpeakerCustomer {
			heard = append(heard, fr.Samples...)
		}
	}
	var energy float64
	for _, v := range heard {
		energy += float64(v) * float64(v)
	}
	if len(heard) < session.Rate || energy/float64(len(heard)) < 1e4 {
		t.Fatalf("the session heard %d samples of SIPp's audio, mean power %.0f", len(heard), energy/float64(max(1, len(heard))))
	}
	if ev := sessiontest.Next(t, sub, "dtmf.received"); !strings.Contains(string(ev.Data), `"digit":"1"`) {
		t.Fatalf("dtmf: %s", ev.Data)
	}
	if ev := sessiontest.Next(t, sub, session.EventSessionEnded); ev.Reason != session.EndCallsEnded {
		t.Fatalf("ended with %s", ev.Reason)
	}
}

// sippScenario writes SIPp's built-in uac_pcap scenario (sipp -sd uac_pcap)
// with the pcap paths of Debian's sip-tester package and a shorter pause:
// G.711 A-law audio, the RFC 4733 digit 1, then BYE.
func sippScenario(t *testing.T, sipp string) string {
	xml, err := exec.Command(sipp, "-sd", "uac_pcap").Output() // it exits 99 after printing
	if !strings.Contains(string(xml), "</scenario>") {
		t.Fatalf("sipp -sd uac_pcap: %v", err)
	}
	s := strings.NewReplacer("pcap/g711a.pcap", "/usr/share/sip-tester/g711a.pcap",
		"pcap/dtmf_2833_1.pcap", "/usr/share/sip-tester/dtmf_2833_1.pcap",
		`<pause milliseconds="8000"/>`, `<pause milliseconds="3000"/>`).Replace(string(xml))
	path := filepath.Join(t.TempDir(), "uac_pcap.xml")
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(string(b), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestDigestAndCallCap calls from a source outside the trunk's CIDRs: a 401
// challenge without credentials, 403 with wrong ones, the call with the
// trunk's own; then its max_concurrent_calls of 1 turns a second call away
// with 503 until the first has ended.
func TestDigestAndCallCap(t *testing.T) {
	user, pass, one := "carrier", "s3cret", 1
	f := newFixtureTrunk(t, session.TrunkParams{InboundCIDRs: &[]string{"10.0.0.0/8"},
		Username: &user, Password: &pass, MaxConcurrentCalls: &one})
	s, _ := f.m.Create(f.ctx, f.sc, session.CreateParams{Mode: "media_stream"})
	s2, _ := f.m.Create(f.ctx, f.sc, session.CreateParams{Mode: "media_stream"})
	sub, err := f.m.Subscribe(f.ctx, s.ID, session.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	p := siptest.NewPhone(t, 0, 8000)
	if code := p.Call(f.ctx, f.srv.Addr(), s.ID, p.Offer(sip.Supported[0])); code != 401 {
		t.Fatalf("no credentials: %d", code)
	}
	p.Auth = sipgo.AnswerOptions{Username: user, Password: "wrong"}
	if code := p.Call(f.ctx, f.srv.Addr(), s.ID, p.Offer(sip.Supported[0])); code != 403 {
		t.Fatalf("wrong password: %d", code)
	}
	p.Auth.Password = pass
	if code := p.Call(f.ctx, f.srv.Addr(), "sess_01JD3ZZZZZZZZZZZZZZZZZZZZZ", p.Offer(sip.Supported[0])); code != 404 {
		t.Fatalf("unknown session after auth: %d", code)
	}
	if code := p.Call(f.ctx, f.srv.Addr(), s.ID, p.Offer(sip.Supported[0])); code != 200 {
		t.Fatalf("with credentials: %d", code)
	}
	first := p.Dialog
	q := siptest.NewPhone(t, 0, 8000)
	q.Auth = p.Auth
	if code := q.Call(f.ctx, f.srv.Addr(), s2.ID, q.Offer(sip.Supported[0])); code != 503 {
		t.Fatalf("over max_concurrent_calls: %d", code)
	}
	if err := first.Bye(f.ctx); err != nil {
		t.Fatal(err)
	}
	sessiontest.Next(t, sub, session.EventSessionEnded)
	code := 0
	for range 100 { // the trunk's count drops as the call's end is recorded
		if code = q.Call(f.ctx, f.srv.Addr(), s2.ID, q.Offer(sip.Supported[0])); code != 503 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code != 200 {
		t.Fatalf("after the first call ended: %d", code)
	}
	if err := q.Dialog.Bye(f.ctx); err != nil {
		t.Fatal(err)
	}
}

// TestCodecMatrix calls in offering one codec at a time: the call takes it,
// and a tone the phone sends in it reaches the session.
func TestCodecMatrix(t *testing.T) {
	formats := map[string]media.Format{
		"PCMU": {Codec: media.CodecPCMU, SampleRate: 8000, Channels: 1},
		"PCMA": {Codec: media.CodecPCMA, SampleRate: 8000, Channels: 1},
		"G722": {Codec: media.CodecG722, SampleRate: 16000, Channels: 1},
		"opus": {Codec: media.CodecOpus, SampleRate: 48000, Channels: 1},
	}
	f := newFixture(t, "127.0.0.1/32")
	for _, codec := range sip.Supported {
		t.Run(codec.Name, func(t *testing.T) {
			s, _ := f.m.Create(f.ctx, f.sc, session.CreateParams{Mode: "media_stream"})
			sub, err := f.m.Subscribe(f.ctx, s.ID, session.SubscribeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			p := siptest.NewPhone(t, codec.PayloadType, codec.ClockRate)
			p.Format = formats[codec.Name]
			if code := p.Call(f.ctx, f.srv.Addr(), s.ID, p.Offer(codec)); code != 200 {
				t.Fatalf("INVITE answered %d", code)
			}
			calls, _, _ := f.m.ListCalls(f.ctx, f.sc, store.ListQuery{Limit: 1, SessionID: s.ID})
			if len(calls) != 1 {
				t.Fatalf("calls: %+v", calls)
			}
			if c := f.waitCall(calls[0].ID, session.CallAnswered); c.Codec != p.Format.Codec {
				t.Fatalf("call: %+v", c)
			}
			go p.SendTone(1000, time.Second)
			heard := sessiontest.Hear(t, sub, "", session.Rate*3/4)
			mediatest.CheckTone(t, heard[session.Rate/4:], session.Rate, mediatest.ToneWant{Freq: 1000, Level: -10, MinSNR: 20})
			if err := p.Dialog.Bye(f.ctx); err != nil {
				t.Fatal(err)
			}
			sessiontest.Next(t, sub, session.EventSessionEnded)
			time.Sleep(300 * time.Millisecond) // the tone ends before the phone closes
		})
	}
}

// TestOutboundTrunkDigest dials a number through a trunk whose far end
// challenges: the INVITE is repeated with the trunk's credentials, to the
// trunk's host and port, and the call is answered.
func TestOutboundTrunkDigest(t *testing.T) {
	f := newFixture(t, "127.0.0.1/32")
	c := siptest.NewCallee(t, 200, "acct", "pw")
	name, host, port, user, pass := "out", "127.0.0.1", int(c.Addr.Port()), "acct", "pw"
	tr, err := f.m.CreateTrunk(f.ctx, f.sc, session.TrunkParams{Name: &name, OutboundHost: &host, OutboundPort: &port, Username: &user, Password: &pass})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := f.m.Create(f.ctx, f.sc, session.CreateParams{Mode: "media_stream"})
	f.m.SetDialer(f.srv)
	call, err := f.m.Dial(f.ctx, f.sc, s.ID, session.DialParams{To: "+14155550100", TrunkID: tr.ID})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case req := <-c.Invites:
		if req.Recipient.User != "+14155550100" || req.Recipient.Host != host {
			t.Fatalf("INVITE to %s", req.Recipient.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no authenticated INVITE")
	}
	<-c.Acks
	f.waitCall(call.ID, session.CallAnswered)
	if _, err := f.m.Hangup(f.ctx, f.sc, s.ID, call.ID); err != nil {
		t.Fatal(err)
	}
	f.waitCall(call.ID, session.CallEnded)
}

// TestOptionsAndInfo: OPTIONS is answered 200 in and out of a dialog, and an
// INFO application/dtmf-relay digit is a dtmf.received event.
func TestOptionsAndInfo(t *testing.T) {
	f := newFixture(t, "127.0.0.1/32")
	s, _ := f.m.Create(f.ctx, f.sc, session.CreateParams{Mode: "media_stream"})
	sub, err := f.m.Subscribe(f.ctx, s.ID, session.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	p := siptest.NewPhone(t, 0, 8000)
	addr := f.srv.Addr()
	res, err := p.Client.Do(f.ctx, sipmsg.NewRequest(sipmsg.OPTIONS, sipmsg.Uri{Host: addr.Addr().String(), Port: int(addr.Port())}))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("OPTIONS: %v %v", err, res)
	}
	if code := p.Call(f.ctx, addr, s.ID, p.Offer(sip.Supported[0])); code != 200 {
		t.Fatalf("INVITE answered %d", code)
	}
	target := p.Dialog.InviteResponse.Contact().Address
	if res, err := p.Dialog.Do(f.ctx, sipmsg.NewRequest(sipmsg.OPTIONS, target)); err != nil || res.StatusCode != 200 {
		t.Fatalf("OPTIONS in dialog: %v %v", err, res)
	}
	info := sipmsg.NewRequest(sipmsg.INFO, target)
	info.AppendHeader(sipmsg.NewHeader("Content-Type", "application/dtmf-relay"))
	info.SetBody([]byte("Signal=7\r\nDuration=160\r\n"))
	if res, err := p.Dialog.Do(f.ctx, info); err != nil || res.StatusCode != 200 {
		t.Fatalf("INFO: %v %v", err, res)
	}
	if ev := sessiontest.Next(t, sub, "dtmf.received"); !strings.Contains(string(ev.Data), `"digit":"7"`) || !strings.Contains(string(ev.Data), `"duration_ms":160`) {
		t.Fatalf("dtmf: %s", ev.Data)
	}
	if err := p.Dialog.Bye(f.ctx); err != nil {
		t.Fatal(err)
	}
	sessiontest.Next(t, sub, session.EventSessionEnded)
}

// unacknowledgedCall places a call from a phone to a new media_stream
// session, subscribed to, and takes the gateway's 200 without an ACK. The
// INVITE offers PCMU, or nothing (a late offer) when late, and carries hdrs.
func (f *fixture) unacknowledgedCall(late bool, hdrs ...sipmsg.Header) (session.Session, *session.Subscription, *sipgo.DialogClientSession) {
	t := f.t
	t.Helper()
	s, _ := f.m.Create(f.ctx, f.sc, session.CreateParams{Mode: "media_stream"})
	sub, err := f.m.Subscribe(f.ctx, s.ID, session.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Close)
	p := siptest.NewPhone(t, 0, 8000)
	addr := f.srv.Addr()
	offer := p.Offer(sip.Supported[0])
	if late {
		offer = nil
	}
	dlg, err := p.Dialogs.Invite(f.ctx, sipmsg.Uri{User: s.ID, Host: addr.Addr().String(), Port: int(addr.Port())}, offer, hdrs...)
	if err != nil {
		t.Fatal(err)
	}
	if err := dlg.WaitAnswer(f.ctx, sipgo.AnswerOptions{}); err != nil {
		t.Fatal(err)
	}
	return s, sub, dlg
}

// TestByeBeforeAck: a caller's BYE that the gateway takes before the ACK
// (lost, or overtaken while the gateway is busy) still proves the caller had
// the 200: the call was answered and ended by the caller, and the session
// ends with it. It used to be recorded canceled, its session left running.
// A late offer's call, whose answer was to come in the ACK, too.
func TestByeBeforeAck(t *testing.T) {
	t.Run("offer", func(t *testing.T) { testByeBeforeAck(t, false) })
	t.Run("late offer", func(t *testing.T) { testByeBeforeAck(t, true) })
}

func testByeBeforeAck(t *testing.T, late bool) {
	f := newFixture(t, "127.0.0.1/32")
	s, sub, dlg := f.unacknowledgedCall(late)
	bye := sipmsg.NewRequest(sipmsg.BYE, dlg.InviteResponse.Contact().Address)
	if res, err := dlg.Do(f.ctx, bye); err != nil || res.StatusCode != 200 {
		t.Fatalf("BYE before the ACK: %v %v", err, res)
	}
	sessiontest.Next(t, sub, session.EventCallAnswered)
	if ended := sessiontest.Next(t, sub, session.EventSessionEnded); ended.Reason != session.EndCallsEnded {
		t.Fatalf("session ended %q, want %q", ended.Reason, session.EndCallsEnded)
	}
	calls, _, _ := f.m.ListCalls(f.ctx, f.sc, store.ListQuery{Limit: 1, SessionID: s.ID})
	if len(calls) != 1 {
		t.Fatalf("calls: %+v", calls)
	}
	if c := f.waitCall(calls[0].ID, session.CallEnded); c.HangupCause != "remote_bye" {
		t.Fatalf("call: %+v", c)
	}
}

// TestNoAck: a caller that never acknowledges the 200 (its ACK lost
// every time) has its call failed no_ack (408) once the 200 has been sent
// for 64×T1 (32 s), and gets a BYE; it used to be recorded canceled.
func TestNoAck(t *testing.T) {
	t.Parallel() // it waits 32 s
	f := newFixture(t, "127.0.0.1/32")
	contact, err := net.ListenPacket("udp", "127.0.0.1:0") // where the phone takes requests
	if err != nil {
		t.Fatal(err)
	}
	defer contact.Close()
	s, sub, dlg := f.unacknowledgedCall(false, &sipmsg.ContactHeader{Address: sipmsg.Uri{User: "phone", Host: "127.0.0.1", Port: contact.LocalAddr().(*net.UDPAddr).Port}})
	// The BYE, answered so that the gateway's hangup completes.
	buf := make([]byte, 4096)
	_ = contact.SetReadDeadline(time.Now().Add(45 * time.Second))
	n, from, err := contact.ReadFrom(buf)
	if err != nil {
		t.Fatalf("no BYE for the unacknowledged call: %v", err)
	}
	msg, err := sipmsg.ParseMessage(buf[:n])
	bye, ok := msg.(*sipmsg.Request)
	if err != nil || !ok || bye.Method != sipmsg.BYE || bye.CallID().Value() != dlg.InviteRequest.CallID().Value() {
		t.Fatalf("the phone got %q (%v), want the call's BYE", buf[:n], err)
	}
	if _, err := contact.WriteTo([]byte(sipmsg.NewResponseFromRequest(bye, 200, "OK", nil).String()), from); err != nil {
		t.Fatal(err)
	}
	sessiontest.Next(t, sub, session.EventCallFailed)
	calls, _, _ := f.m.ListCalls(f.ctx, f.sc, store.ListQuery{Limit: 1, SessionID: s.ID})
	if len(calls) != 1 || calls[0].Status != session.CallFailed || calls[0].HangupCause != "no_ack" || calls[0].SIPStatus == nil || *calls[0].SIPStatus != 408 {
		t.Fatalf("calls: %+v", calls)
	}
}

// TestOutboundHangupWhileRinging hangs up before the answer: the INVITE is
// canceled and the call ends canceled.
func TestOutboundHangupWhileRinging(t *testing.T) {
	f := newFixture(t, "127.0.0.1/32")
	c := siptest.NewCallee(t, 0, "", "")
	call, sid, err := f.dial(c.Addr, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Invites:
	case <-time.After(10 * time.Second):
		t.Fatal("no INVITE")
	}
	f.waitCall(call.ID, session.CallRinging)
	if _, err := f.m.Hangup(f.ctx, f.sc, sid, call.ID); err != nil {
		t.Fatal(err)
	}
	if got := f.waitCall(call.ID, session.CallCanceled); got.HangupCause != "api_hangup" {
		t.Fatalf("canceled: %+v", got)
	}
	select {
	case <-c.Cancels:
	case <-time.After(5 * time.Second):
		t.Fatal("no CANCEL")
	}
}

// TestSpeakerDTMFAndMediaTimeout: X-Voxgate-Speaker makes the caller the
// agent; digits the session sends reach the phone as RFC 4733; a phone
// that sends no RTP is hung up with media_timeout.
func TestSpeakerDTMFAndMediaTimeout(t *testing.T) {
	f := newFixture(t, "127.0.0.1/32")
	s, _ := f.m.Create(f.ctx, f.sc, session.CreateParams{Mode: "media_stream"})
	sub, err := f.m.Subscribe(f.ctx, s.ID, session.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	p := siptest.NewPhone(t, 0, 8000)
	if code := p.Call(f.ctx, f.srv.Addr(), s.ID, p.Offer(sip.Supported[0], sip.TelephoneEvent), sipmsg.NewHeader("X-Voxgate-Speaker", "agent")); code != 200 {
		t.Fatalf("INVITE answered %d", code)
	}
	calls, _, _ := f.m.ListCalls(f.ctx, f.sc, store.ListQuery{Limit: 1, SessionID: s.ID})
	if len(calls) != 1 {
		t.Fatalf("calls: %+v", calls)
	}
	if c := f.waitCall(calls[0].ID, session.CallAnswered); c.Speaker != session.SpeakerAgent {
		t.Fatalf("speaker %s", c.Speaker)
	}
	// Digits go to the other side of the subscriber's last speaker: it
	// speaks for the customer here, the phone being the agent.
	if err := sub.Input(session.SpeakerCustomer, make([]int16, session.Rate/50)); err != nil {
		t.Fatal(err)
	}
	if err := sub.SendDTMF("9#", calls[0].ID); err != nil {
		t.Fatal(err)
	}
	for _, want := range []byte("9#") {
		select {
		case d := <-p.Digits:
			if d != want {
				t.Fatalf("phone got %q, want %q", d, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("phone got no %q", want)
		}
	}
	if c := f.waitCall(calls[0].ID, session.CallEnded); c.HangupCause != "media_timeout" { // 5 s without RTP
		t.Fatalf("call: %+v", c)
	}
}
