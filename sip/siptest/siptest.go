// Package siptest is a SIP phone for tests on loopback: sipgo signalling and
// rtpio media. A Phone calls the gateway; a Callee answers its calls.
package siptest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/voxgate/voxgate/media"
	"github.com/voxgate/voxgate/media/mediatest"
	"github.com/voxgate/voxgate/media/rtpio"
	"github.com/voxgate/voxgate/sip"
	"github.com/voxgate/voxgate/transcode"
	"github.com/voxgate/voxgate/transcode/g711"
)

// Phone places calls; its RTP socket is on 127.0.0.1.
type Phone struct {
	T       testing.TB
	UA      *sipgo.UserAgent
	Client  *sipgo.Client
	Dialogs *sipgo.DialogClientCache
	RTP     *rtpio.Conn
	// Dialog is the last answered call.
	Dialog *sipgo.DialogClientSession
	// Auth answers a digest challenge when set.
	Auth sipgo.AnswerOptions
	// Format is what SendTone and SendPCM encode (PCMU unless set).
	Format media.Format
	// Digits has the RFC 4733 digits the phone receives.
	Digits chan byte
	// Transport is how Call reaches the gateway: "" for UDP, or "tls".
	Transport string
}

// PhoneConfig says where a phone is and how it talks.
type PhoneConfig struct {
	Host        string // loopback address (default 127.0.0.1)
	PayloadType uint8  // of its RTP
	ClockRate   int
	TLS         *tls.Config // to call over TLS (and Transport "tls")
}

// NewPhone makes a phone on 127.0.0.1 whose RTP uses payload type pt at
// clock Hz; it is closed when the test ends.
func NewPhone(t testing.TB, pt uint8, clock int) *Phone {
	return NewPhoneWith(t, PhoneConfig{PayloadType: pt, ClockRate: clock})
}

// NewPhoneAt makes a phone whose SIP and RTP use the loopback address host
// (any of 127.0.0.0/8), to call from a source other than 127.0.0.1.
func NewPhoneAt(t testing.TB, host string, pt uint8, clock int) *Phone {
	return NewPhoneWith(t, PhoneConfig{Host: host, PayloadType: pt, ClockRate: clock})
}

// NewPhoneWith makes a phone as cfg says; it is closed when the test ends.
func NewPhoneWith(t testing.TB, cfg PhoneConfig) *Phone {
	host, pt, clock := cfg.Host, cfg.PayloadType, cfg.ClockRate
	if host == "" {
		host = "127.0.0.1"
	}
	uaOpts := []sipgo.UserAgentOption{sipgo.WithUserAgentHostname(host)}
	if cfg.TLS != nil {
		uaOpts = append(uaOpts, sipgo.WithUserAgenTLSConfig(cfg.TLS))
	}
	ua, err := sipgo.NewUA(uaOpts...)
	if err != nil {
		t.Fatal(err)
	}
	opts := []sipgo.ClientOption{sipgo.WithClientHostname(host)}
	if host != "127.0.0.1" { // send from host, not the kernel's pick (127.0.0.1)
		opts = append(opts, sipgo.WithClientConnectionAddr(host+":0"))
	}
	cli, err := sipgo.NewClient(ua, opts...)
	if err != nil {
		t.Fatal(err)
	}
	p := &Phone{T: t, UA: ua, Client: cli, Transport: map[bool]string{true: "tls"}[cfg.TLS != nil], Format: media.Format{Codec: media.CodecPCMU, SampleRate: 8000, Channels: 1},
		Digits:  make(chan byte, 16),
		Dialogs: sipgo.NewDialogClientCache(cli, sipmsg.ContactHeader{Address: sipmsg.Uri{User: "phone", Host: host, Port: 5099}})}
	r, err := rtpio.Listen(rtpio.Config{Local: host + ":0", PayloadType: pt, ClockRate: clock, DTMFPayloadType: 101, MediaTimeout: -1,
		OnDTMF: func(d byte) {
			select {
			case p.Digits <- d:
			default:
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	p.RTP = r
	t.Cleanup(func() { r.Close(); ua.Close() })
	return p
}

// Call sends an INVITE for user at the gateway with the SDP and returns the
// final status; a 200 is acknowledged and its answer sets the RTP peer.
func (p *Phone) Call(ctx context.Context, gateway netip.AddrPort, user string, sdp []byte, hdrs ...sipmsg.Header) int {
	to := sipmsg.Uri{User: user, Host: gateway.Addr().String(), Port: int(gateway.Port())}
	if p.Transport != "" {
		to.UriParams = sipmsg.NewParams()
		to.UriParams.Add("transport", p.Transport)
	}
	dlg, err := p.Dialogs.Invite(ctx, to, sdp, hdrs...)
	if err != nil {
		p.T.Fatal(err)
	}
	err = dlg.WaitAnswer(ctx, p.Auth)
	var de *sipgo.ErrDialogResponse
	if errors.As(err, &de) {
		return de.Res.StatusCode
	}
	if err != nil {
		p.T.Fatal(err)
	}
	if err := dlg.Ack(ctx); err != nil {
		p.T.Fatal(err)
	}
	p.Dialog = dlg
	answer, err := sip.ParseSDP(dlg.InviteResponse.Body())
	if err != nil {
		p.T.Fatal(err)
	}
	p.RTP.SetRemote(netip.AddrPortFrom(answer.Addr, uint16(answer.Port)))
	return 200
}

// Offer is an SDP offer of codecs at the phone's RTP address.
func (p *Phone) Offer(codecs ...sip.Codec) []byte {
	return sip.AnswerSDP(7, p.RTP.LocalAddr(), sip.SendRecv, codecs...)
}

// SendTone plays a tone in the phone's Format, in real time for d.
func (p *Phone) SendTone(freq float64, d time.Duration) {
	rate := p.Format.SampleRate
	p.SendPCM(mediatest.Tone(rate, freq, -10, rate*int(d/(20*time.Millisecond))/50), rate)
}

// SendPCM plays mono audio sampled at rate (a WAV's speech, say) in the
// phone's Format, resampled when the rates differ, in real time: a 20 ms
// frame every 20 ms; a last partial frame is padded with silence.
func (p *Phone) SendPCM(pcm []int16, rate int) {
	enc, err := transcode.Chain(media.PCM16(rate), p.Format, media.WriterFunc(p.RTP.WriteFrame))
	if err != nil {
		p.T.Error(err)
		return
	}
	n := rate / 50
	frame := make([]int16, n)
	tk := time.NewTicker(20 * time.Millisecond)
	defer tk.Stop()
	for i := 0; i < len(pcm); i += n {
		<-tk.C
		clear(frame[copy(frame, pcm[i:]):])
		_ = enc.WriteFrame(media.Frame{Samples: frame, Timestamp: uint32(i)})
	}
}

// Hears checks that the phone receives a μ-law tone at freq (1 s of it).
func (p *Phone) Hears(freq float64) {
	p.T.Helper()
	var heard []int16
	var mf media.Frame
	for len(heard) < 8000 {
		if err := p.RTP.ReadFrame(&mf); err != nil {
			p.T.Fatal(err)
		}
		if mf.Missing {
			continue
		}
		dec := make([]int16, len(mf.Payload))
		g711.PCMU.Decode(mf.Payload, dec)
		heard = append(heard, dec...)
	}
	if lvl := mediatest.Level(heard[len(heard)-4000:], 8000, freq); lvl < -14 {
		p.T.Fatalf("the phone hears %.0f Hz at %.1f dBFS", freq, lvl)
	}
}

// Callee is a phone that answers INVITEs on its own UDP port.
type Callee struct {
	*Phone
	// Addr is where it takes INVITEs.
	Addr netip.AddrPort
	// TLSAddr is where it takes them over TLS (with CalleeConfig.TLS).
	TLSAddr netip.AddrPort
	// Acks has a value for each ACK of an answered call.
	Acks chan struct{}
	// Invites has each INVITE that passed authentication.
	Invites chan *sipmsg.Request
	// Cancels has a value for each CANCEL.
	Cancels chan struct{}
	// Byes has a value for each BYE of an answered call.
	Byes    chan struct{}
	ringing chan *sipgo.DialogServerSession
}

// CalleeConfig says how a Callee answers.
type CalleeConfig struct {
	// Status is the final answer after a 180: 200 with a PCMU answer, 0 never
	// (a CANCEL gets 487), anything else as a failure.
	Status int
	// User and Pass, when Pass is set, are the digest credentials it
	// challenges for first.
	User, Pass string
	// EarlyTone, when set, is early media: a 183 with the SDP answer, then
	// this tone for EarlyFor, before the final answer.
	EarlyTone float64
	EarlyFor  time.Duration
	// SRTP answers an RTP/SAVP offer with its own key (else plain RTP).
	SRTP bool
	// TLS, when set, takes INVITEs over TLS on TLSAddr as well.
	TLS *tls.Config
}

// NewCallee answers INVITEs with status after a 180 (CalleeConfig.Status),
// first challenging for user's digest credentials when pass is set.
func NewCallee(t testing.TB, status int, user, pass string) *Callee {
	return StartCallee(t, CalleeConfig{Status: status, User: user, Pass: pass})
}

// StartCallee starts a Callee that answers as cfg says.
func StartCallee(t testing.TB, cfg CalleeConfig) *Callee {
	status, user, pass := cfg.Status, cfg.User, cfg.Pass
	p := NewPhone(t, 0, 8000)
	srv, err := sipgo.NewServer(p.UA)
	if err != nil {
		t.Fatal(err)
	}
	c := &Callee{Phone: p, Acks: make(chan struct{}, 1), Invites: make(chan *sipmsg.Request, 4), Cancels: make(chan struct{}, 4),
		Byes: make(chan struct{}, 4), ringing: make(chan *sipgo.DialogServerSession, 1)}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.Addr = conn.LocalAddr().(*net.UDPAddr).AddrPort()
	udpDialogs := sipgo.NewDialogServerCache(p.Client, sipmsg.ContactHeader{Address: sipmsg.Uri{User: "callee", Host: "127.0.0.1", Port: int(c.Addr.Port())}})
	var tlsDialogs *sipgo.DialogServerCache // set before TLS is served
	dialogs := func(req *sipmsg.Request) *sipgo.DialogServerCache {
		if tlsDialogs != nil && req.Transport() == "TLS" {
			return tlsDialogs // a Contact on TLS keeps the dialog there
		}
		return udpDialogs
	}
	srv.OnInvite(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		if pass != "" && !digestValid(req, user, pass) {
			chal := digest.Challenge{Realm: "carrier", Nonce: "n0nce", Algorithm: "MD5", QOP: []string{"auth"}}
			res := sipmsg.NewResponseFromRequest(req, 401, "Unauthorized", nil)
			res.AppendHeader(sipmsg.NewHeader("WWW-Authenticate", chal.String()))
			_ = tx.Respond(res)
			return
		}
		select {
		case c.Invites <- req:
		default:
		}
		dlg, err := dialogs(req).ReadInvite(req, tx)
		if err != nil {
			return
		}
		_ = dlg.Respond(180, "Ringing", nil)
		offer, _ := sip.ParseSDP(req.Body())
		c.RTP.SetRemote(netip.AddrPortFrom(offer.Addr, uint16(offer.Port)))
		answer := sip.AnswerSDP(9, c.RTP.LocalAddr(), sip.SendRecv, sip.Supported[0], sip.TelephoneEvent)
		if cfg.SRTP && offer.Secure() && len(offer.Crypto) > 0 {
			mine := sip.NewCrypto(offer.Crypto[0].Tag, offer.Crypto[0].Suite)
			answer = sip.SecureSDP(answer, mine)
			if err := c.RTP.SetSRTP(sip.SRTPKeys(mine, offer.Crypto[0])); err != nil {
				t.Error(err)
			}
		}
		if cfg.EarlyTone > 0 {
			_ = dlg.Respond(183, "Session Progress", answer, sipmsg.NewHeader("Content-Type", "application/sdp"))
			c.SendTone(cfg.EarlyTone, cfg.EarlyFor)
		}
		switch status {
		case 200:
			_ = dlg.RespondSDP(answer)
		case 0:
			c.ringing <- dlg
		default:
			_ = dlg.Respond(status, "Refused", nil)
		}
	})
	srv.OnAck(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		if dialogs(req).ReadAck(req, tx) == nil {
			c.Acks <- struct{}{}
		}
	})
	srv.OnBye(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		if dialogs(req).ReadBye(req, tx) == nil {
			select {
			case c.Byes <- struct{}{}:
			default:
			}
		}
	})
	srv.OnCancel(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		_ = tx.Respond(sipmsg.NewResponseFromRequest(req, 200, "OK", nil))
		select {
		case c.Cancels <- struct{}{}:
		default:
		}
		select {
		case dlg := <-c.ringing:
			_ = dlg.Respond(487, "Request Terminated", nil)
		default:
		}
	})
	go func() { _ = srv.ServeUDP(conn) }()
	t.Cleanup(func() { conn.Close(); srv.Close() })
	if cfg.TLS != nil {
		ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg.TLS)
		if err != nil {
			t.Fatal(err)
		}
		c.TLSAddr = ln.Addr().(*net.TCPAddr).AddrPort()
		params := sipmsg.NewParams()
		params.Add("transport", "tls")
		tlsDialogs = sipgo.NewDialogServerCache(p.Client, sipmsg.ContactHeader{Address: sipmsg.Uri{User: "callee", Host: "127.0.0.1", Port: int(c.TLSAddr.Port()), UriParams: params}})
		go func() { _ = srv.ServeTLS(ln) }()
		t.Cleanup(func() { ln.Close() })
	}
	return c
}

// digestValid checks an INVITE's Authorization against user and pass.
func digestValid(req *sipmsg.Request, user, pass string) bool {
	h := req.GetHeader("Authorization")
	if h == nil {
		return false
	}
	cred, err := digest.ParseCredentials(h.Value())
	if err != nil || cred.Username != user {
		return false
	}
	want, err := digest.Digest(&digest.Challenge{Realm: cred.Realm, Nonce: cred.Nonce, Algorithm: "MD5", QOP: []string{cred.QOP}},
		digest.Options{Method: "INVITE", URI: cred.URI, Username: user, Password: pass, Cnonce: cred.Cnonce, Count: cred.Nc})
	return err == nil && want.Response == cred.Response
}

// SelfSigned makes a certificate for 127.0.0.1 and localhost with the
// serial number, and returns it with its PEM certificate and key.
func SelfSigned(t testing.TB, serial int64) (tls.Certificate, []byte, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "voxgate test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return cert, certPEM, keyPEM
}
