package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/voxgate/voxgate/sip"
	"github.com/voxgate/voxgate/stream"
)

// phone is loadgen's SIP side: one user agent whose dialogs are the calls.
type phone struct {
	ua      *sipgo.UserAgent
	dialogs *sipgo.DialogClientCache
	conn    net.PacketConn
}

// newPhone starts the user agent; it takes in-dialog requests (the
// gateway's BYE) on a UDP port of its own, its Contact.
func newPhone() (*phone, error) {
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("voxgate-loadgen"), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		return nil, err
	}
	p := &phone{ua: ua}
	cli, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		p.close()
		return nil, err
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		p.close()
		return nil, err
	}
	if p.conn, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
		p.close()
		return nil, err
	}
	// The Contact has a port, so that sipgo does not fill it in on a
	// header every dialog shares.
	contact := sipmsg.ContactHeader{Address: sipmsg.Uri{User: "loadgen", Host: "127.0.0.1", Port: p.conn.LocalAddr().(*net.UDPAddr).Port}}
	p.dialogs = sipgo.NewDialogClientCache(cli, contact)
	srv.OnBye(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) { _ = p.dialogs.ReadBye(req, tx) })
	go func() { _ = srv.ServeUDP(p.conn) }()
	return p, nil
}

func (p *phone) close() {
	if p.conn != nil {
		_ = p.conn.Close()
	}
	_ = p.ua.Close()
}

// api is the REST side: it makes a session per call.
type api struct {
	base, key string
	http      *http.Client
}

// newSession is what POST /v1/sessions answers that loadgen uses.
type newSession struct {
	ID     string `json:"id"`
	SIPURI string `json:"sip_uri"`
	Stream struct {
		Token string `json:"token"`
	} `json:"stream"`
}

func (a *api) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.key)
	req.Header.Set("Content-Type", "application/json")
	res, err := a.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, res.Status, bytes.TrimSpace(raw))
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// ensureTrunk makes sure a SIP trunk lets calls in from 127.0.0.1.
func (a *api) ensureTrunk(ctx context.Context) error {
	var list struct {
		Data []struct {
			InboundCIDRs []string `json:"inbound_cidrs"`
		} `json:"data"`
	}
	if err := a.do(ctx, "GET", "/v1/sip_trunks?limit=100", nil, &list); err != nil {
		return err
	}
	for _, t := range list.Data {
		for _, c := range t.InboundCIDRs {
			if p, err := netip.ParsePrefix(c); err == nil && p.Contains(netip.AddrFrom4([4]byte{127, 0, 0, 1})) {
				return nil
			}
		}
	}
	return a.do(ctx, "POST", "/v1/sip_trunks", map[string]any{"name": "loadgen", "inbound_cidrs": []string{"127.0.0.1/32"}}, nil)
}

// call is one session under load: a SIP call replaying the fixture and a
// WebSocket subscriber speaking back.
type call struct {
	g      *Generator
	p      *probe
	id     string
	rtp    *net.UDPConn
	remote netip.AddrPort
	ws     *stream.Client
	rtc    *rtcLeg // the WebRTC leg, in WebRTC runs
	// rtcHeard is closed when the WebRTC leg hears its first packet.
	rtcHeard chan struct{}
	dlg      *sipgo.DialogClientSession
	setup    time.Duration // INVITE to 200 OK
	stop     chan struct{}
	senders  sync.WaitGroup
	readers  sync.WaitGroup
}

// place sets up one call: the session, its subscriber, the SIP call; then
// both directions start.
func (g *Generator) place(ctx context.Context) (*call, error) {
	p, err := newProbe(g.fx, g.ref, g.cfg.LateAfter, g.cfg.LostAfter, g.cfg.Bridge)
	if err != nil {
		return nil, err
	}
	c := &call{g: g, p: p, stop: make(chan struct{}), rtcHeard: make(chan struct{})}
	var s newSession
	if err := g.api.do(ctx, "POST", "/v1/sessions", map[string]any{"mode": "media_stream"}, &s); err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	c.id = s.ID
	if !g.cfg.Bridge {
		if err := c.subscribe(ctx, s); err != nil {
			return nil, err
		}
	}
	if err := c.dial(ctx, s); err != nil {
		c.closeWS()
		return nil, err
	}
	if g.cfg.WebRTC {
		if err := c.joinWebRTC(ctx); err != nil {
			c.hangupSIP()
			c.rtp.Close()
			c.closeWS()
			return nil, err
		}
	}
	c.readers.Add(1)
	go c.readRTP()
	if c.ws != nil {
		c.readers.Add(1)
		go c.readWS()
	}
	c.senders.Add(2)
	go c.sendRTP()
	if c.rtc != nil {
		go c.sendWebRTC()
	} else {
		go c.sendInput()
	}
	return c, nil
}

// subscribe connects the call's WebSocket subscriber and waits for
// session.ready (the subscription is in place).
func (c *call) subscribe(ctx context.Context, s newSession) error {
	wsURL, err := stream.ConnectURL(c.g.cfg.URL, s.ID, s.Stream.Token, url.Values{"audio": {"mulaw_8000"}})
	if err != nil {
		return err
	}
	if c.ws, err = stream.Dial(ctx, wsURL); err != nil {
		return fmt.Errorf("subscriber: %w", err)
	}
	if _, err := c.ws.Read(); err != nil {
		c.closeWS()
		return fmt.Errorf("subscriber: %w", err)
	}
	return nil
}

// closeWS closes the subscriber, if the call has one.
func (c *call) closeWS() {
	if c.ws != nil {
		c.ws.Close()
	}
}

// dial places the SIP call and takes the gateway's RTP address from its answer.
func (c *call) dial(ctx context.Context, s newSession) error {
	var err error
	if c.rtp, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
		return err
	}
	fail := func(err error) error {
		c.rtp.Close()
		return err
	}
	var target sipmsg.Uri
	if err := sipmsg.ParseUri(s.SIPURI, &target); err != nil {
		return fail(fmt.Errorf("sip_uri %q: %w", s.SIPURI, err))
	}
	if c.g.cfg.SIPAddr != "" { // the gateway's SIP address as seen from here
		host, port, err := net.SplitHostPort(c.g.cfg.SIPAddr)
		if err != nil {
			return fail(fmt.Errorf("sip address: %w", err))
		}
		target.Host = host
		fmt.Sscan(port, &target.Port)
	}
	fx := c.g.fx
	codec := sip.Codec{PayloadType: fx.PayloadType, Name: fx.Format.Codec, ClockRate: fx.ClockRate, Channels: 1}
	if fx.Format.Codec == "opus" {
		codec.Channels = 2
	}
	codecs := []sip.Codec{codec}
	if fx.DTMFPayloadType != 0 {
		te := sip.TelephoneEvent
		te.PayloadType = fx.DTMFPayloadType
		codecs = append(codecs, te)
	}
	offer := sip.AnswerSDP(1, c.rtp.LocalAddr().(*net.UDPAddr).AddrPort(), sip.SendRecv, codecs...)
	start := time.Now()
	dlg, err := c.g.phone.dialogs.Invite(ctx, target, offer, sipmsg.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		return fail(fmt.Errorf("invite: %w", err))
	}
	if err := dlg.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
		_ = dlg.Close()
		return fail(fmt.Errorf("invite: %w", err))
	}
	c.setup = time.Since(start)
	if err := dlg.Ack(ctx); err != nil {
		_ = dlg.Close()
		return fail(fmt.Errorf("ack: %w", err))
	}
	c.dlg = dlg
	answer, err := sip.ParseSDP(dlg.InviteResponse.Body())
	if err != nil {
		c.hangupSIP()
		return fail(fmt.Errorf("answer: %w", err))
	}
	c.remote = netip.AddrPortFrom(answer.Addr, uint16(answer.Port))
	return nil
}

// sendRTP replays the fixture at its original timing until stopped.
func (c *call) sendRTP() {
	defer c.senders.Done()
	rw := NewRewriter(c.g.fx, rand.Uint32(), uint16(rand.Uint32()), rand.Uint32())
	if c.g.cfg.Bridge {
		// The phone's markers are timed at the WebRTC leg: start once it
		// hears the session, or the first ones may be played to no one.
		rw.WithMarkers(c.g.phoneMarker)
		select {
		case <-c.rtcHeard:
		case <-c.stop:
			return
		case <-time.After(5 * time.Second):
		}
	}
	tm := time.NewTimer(0)
	start := time.Now()
	for {
		s := rw.Next()
		if !c.sleepUntil(tm, start.Add(s.At)) {
			return
		}
		c.p.rtpSent(s, time.Now()) // before the write: the answer may come back first
		if _, err := c.rtp.WriteToUDPAddrPort(s.Packet, c.remote); err != nil {
			return
		}
	}
}

// sendInput sends the subscriber's audio.input every 20 ms: markers and silence.
func (c *call) sendInput() {
	defer c.senders.Done()
	// The gateway plays what the subscriber says once the call's leg has
	// joined the session, which is when its RTP starts: wait for that, or
	// the first markers may be played to no one.
	select {
	case <-c.p.heard:
	case <-c.stop:
		return
	case <-time.After(5 * time.Second):
	}
	var buf []byte
	tm := time.NewTimer(0)
	start := time.Now()
	for n := int64(0); ; n++ {
		if !c.sleepUntil(tm, start.Add(time.Duration(n)*20*time.Millisecond)) {
			return
		}
		buf = AppendAudioInput(buf[:0], n)
		c.p.inputSent(n, time.Now())
		if err := c.ws.SendRaw(buf); err != nil {
			return
		}
	}
}

// sleepUntil waits for t on tm (reused: no allocation per frame); false
// when the call is stopping.
func (c *call) sleepUntil(tm *time.Timer, t time.Time) bool {
	if wait := time.Until(t); wait > 0 {
		tm.Reset(wait)
		select {
		case <-c.stop:
			return false
		case <-tm.C:
		}
	}
	select {
	case <-c.stop:
		return false
	default:
		return true
	}
}

func (c *call) readRTP() {
	defer c.readers.Done()
	buf := make([]byte, 1500)
	for {
		n, err := c.rtp.Read(buf)
		if err != nil {
			return
		}
		c.p.rtpReceived(buf[:n], time.Now())
	}
}

func (c *call) readWS() {
	defer c.readers.Done()
	for {
		raw, err := c.ws.Read()
		if err != nil {
			return
		}
		c.p.audioOutput(raw, time.Now())
	}
}

// hangup stops sending, lets what is in flight arrive, and ends the call.
func (c *call) hangup() {
	close(c.stop)
	c.senders.Wait()
	c.p.stop(time.Now())
	// Let what is in flight arrive, for as long as it may take.
	for deadline := time.Now().Add(c.g.cfg.LostAfter); c.p.inFlight() > 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	c.hangupSIP()
	if c.rtc != nil {
		_ = c.rtc.pc.Close()
	}
	c.closeWS()
	c.rtp.Close()
	c.readers.Wait()
}

func (c *call) hangupSIP() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.dlg.Bye(ctx); err != nil && !errors.Is(err, context.Canceled) && !strings.Contains(err.Error(), "terminated") {
		c.g.logf("call %s: bye: %v", c.id, err)
	}
	_ = c.dlg.Close()
}
