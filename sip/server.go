// Package sip connects SIP calls to sessions: an inbound INVITE from a trunk
// joins the session it names (or the one routed to a phone number), and the
// call's RTP becomes a session leg. It holds SDP offer/answer and codec
// negotiation, and is the only package that imports sipgo.
package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"go.uber.org/zap"

	"github.com/voxgate/voxgate/media/rtpio"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/store"
)

// Sessions is what SIP needs from the session layer; *session.Manager
// satisfies it.
type Sessions interface {
	RouteInbound(ctx context.Context, sc store.Scope, user string) (string, error)
	StartCall(ctx context.Context, sessionID string, c session.Call) (session.Call, error)
	CallRinging(ctx context.Context, callID string, sipStatus int) error
	CallAnswered(ctx context.Context, callID, codec string) error
	CallEnded(ctx context.Context, callID string, status session.CallStatus, cause string, sipStatus int) error
	AnswerLeg(ctx context.Context, sessionID string, leg session.Leg, codec string) error
	AddEarlyLeg(ctx context.Context, sessionID string, leg session.Leg) error
	AllTrunks(ctx context.Context) ([]session.Trunk, error)
	TrunksVersion() uint64
	Emit(ctx context.Context, sessionID, typ string, data any) error
}

// Config configures the SIP server.
type Config struct {
	// Addr is where SIP listens, on UDP and TCP. Default 0.0.0.0:5060.
	Addr string
	// Host is the address put in Contact and SDP, which peers send to
	// (default: Addr's host, or 127.0.0.1 when that is unspecified). RTP
	// binds to Addr's host.
	Host string
	// RTPPortMin and RTPPortMax bound the RTP ports (0: any).
	RTPPortMin, RTPPortMax int
	// MediaTimeout hangs up a call with no RTP for this long. Default 30s.
	MediaTimeout time.Duration
	// Limits guard against scanners and floods.
	Limits Limits
	// TLSAddr is where SIP over TLS listens when TLS is set (its
	// certificate, from GetCertificate so it can be replaced while running).
	TLSAddr string
	TLS     *tls.Config
	// TLSClient verifies the servers of trunks with transport tls (nil:
	// the system's roots).
	TLSClient *tls.Config
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("sip_addr: %q is not host:port", c.Addr)
	}
	if c.RTPPortMin < 0 || c.RTPPortMax > 65535 || c.RTPPortMin > c.RTPPortMax {
		return errors.New("rtp_port_min, rtp_port_max: a range within 1-65535")
	}
	return nil
}

// Server is the SIP side of the gateway.
type Server struct {
	cfg      Config
	sessions Sessions
	log      *zap.Logger

	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	cli    *sipgo.Client
	dialog *sipgo.DialogServerCache // calls we answer
	tlsDlg *sipgo.DialogServerCache // calls we answer over TLS (their Contact says so)
	dialer *sipgo.DialogClientCache // calls we place
	tlsDia *sipgo.DialogClientCache // calls we place over TLS (their Contact says so)
	udp    net.PacketConn
	tcp    net.Listener
	tls    net.Listener // nil without a certificate
	host   netip.Addr   // advertised in Contact and SDP
	bind   string       // the listen host, which RTP binds to as well

	mu       sync.Mutex
	calls    map[string]*Call // live calls by call ID
	bySIPID  map[string]*Call // and by SIP Call-ID
	perTrunk map[string]int   // live calls per trunk ID
	perOrg   map[string]int   // live calls per organization
	trunks   trunkCache
	auth     *nonces
	limiter  *limiter

	refusedTrunkFull, refusedOrgFull atomic.Uint64

	digits   chan digit    // RFC 4733 digits waiting to be emitted
	stop     chan struct{} // closed by Close
	stopOnce sync.Once

	draining atomic.Bool
	wg       sync.WaitGroup
}

// Listen opens the SIP sockets; Serve answers on them.
func Listen(cfg Config, sessions Sessions, log *zap.Logger) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = "0.0.0.0:5060"
	}
	if cfg.MediaTimeout == 0 {
		cfg.MediaTimeout = 30 * time.Second
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	s := &Server{cfg: cfg, sessions: sessions, log: log, calls: map[string]*Call{}, bySIPID: map[string]*Call{},
		perTrunk: map[string]int{}, perOrg: map[string]int{}, auth: newNonces(),
		digits: make(chan digit, 4096), stop: make(chan struct{})}
	s.cfg.Limits.defaults()
	s.limiter = newLimiter(s.cfg.Limits, time.Now)
	var err error
	if s.udp, s.tcp, err = listenBoth(cfg.Addr); err != nil {
		return nil, err
	}
	port := s.udp.LocalAddr().(*net.UDPAddr).Port
	host, _, _ := net.SplitHostPort(cfg.Addr)
	s.bind = host
	hostName := cfg.Host
	if hostName == "" {
		hostName = host
	}
	if ip, err := netip.ParseAddr(hostName); err != nil || ip.IsUnspecified() {
		hostName = "127.0.0.1"
	}
	if s.host, err = netip.ParseAddr(hostName); err != nil {
		s.Close()
		return nil, fmt.Errorf("sip: host %q must be an IP address", hostName)
	}
	quiet := slog.New(slog.NewTextHandler(discard{}, nil))
	// Unparseable datagrams are dropped without a word in the log: a flood
	// of them must not become a flood of log lines.
	if s.ua, err = sipgo.NewUA(sipgo.WithUserAgent("voxgate"), sipgo.WithUserAgentHostname(hostName), sipgo.WithUserAgenTLSConfig(cfg.TLSClient),
		sipgo.WithUserAgentTransportLayerOptions(sipmsg.WithTransportLayerReadFilter(s.screen), sipmsg.WithTransportLayerLogger(quiet)),
		sipgo.WithUserAgentTransactionLayerOptions(sipmsg.WithTransactionLayerLogger(quiet))); err != nil {
		s.Close()
		return nil, err
	}
	if s.srv, err = sipgo.NewServer(s.ua, sipgo.WithServerLogger(quiet)); err != nil {
		s.Close()
		return nil, err
	}
	// Requests go out from the listening port, so that replies and later
	// requests find their way back to it.
	if s.cli, err = sipgo.NewClient(s.ua, sipgo.WithClientHostname(hostName), sipgo.WithClientPort(port), sipgo.WithClientLogger(quiet)); err != nil {
		s.Close()
		return nil, err
	}
	contact := sipmsg.ContactHeader{Address: sipmsg.Uri{User: "voxgate", Host: hostName, Port: port}}
	s.dialog = sipgo.NewDialogServerCache(s.cli, contact)
	if cfg.TLS != nil {
		if s.tls, err = tls.Listen("tcp", cfg.TLSAddr, cfg.TLS); err != nil {
			s.Close()
			return nil, fmt.Errorf("sip: listen tls: %w", err)
		}
		params := sipmsg.NewParams()
		params.Add("transport", "tls")
		tlsContact := sipmsg.ContactHeader{Address: sipmsg.Uri{User: "voxgate", Host: hostName, Port: s.tls.Addr().(*net.TCPAddr).Port, UriParams: params}}
		s.tlsDlg = sipgo.NewDialogServerCache(s.cli, tlsContact)
		s.tlsDia = sipgo.NewDialogClientCache(s.cli, tlsContact)
	}
	s.dialer = sipgo.NewDialogClientCache(s.cli, contact)
	s.srv.OnInvite(s.onInvite)
	s.srv.OnAck(s.onAck)
	s.srv.OnBye(s.onBye)
	s.srv.OnOptions(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		if wellFormed(req, tx) {
			respond(req, tx, 200, "OK")
		}
	})
	s.srv.OnInfo(s.onInfo)
	// A CANCEL that matches a pending INVITE is answered by the transaction
	// layer (200, then 487 to the INVITE); one that matches nothing is 481.
	s.srv.OnCancel(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		respond(req, tx, 481, "Call/Transaction Does Not Exist")
	})
	return s, nil
}

// listenBoth listens on addr with UDP and TCP on the same port. With port 0,
// a port the kernel picks for UDP may be taken for TCP: it tries others.
func listenBoth(addr string) (net.PacketConn, net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("sip: listen: %w", err)
	}
	for attempt := 0; ; attempt++ {
		udp, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("sip: listen udp: %w", err)
		}
		tcp, err := net.Listen("tcp", net.JoinHostPort(host, fmt.Sprint(udp.LocalAddr().(*net.UDPAddr).Port)))
		if err == nil {
			return udp, tcp, nil
		}
		udp.Close()
		if port != "0" || attempt == 9 {
			return nil, nil, fmt.Errorf("sip: listen tcp: %w", err)
		}
	}
}

// rtpBind is where a call's RTP socket listens: the SIP listen host (all
// interfaces for 0.0.0.0), on a port of the range.
func (s *Server) rtpBind() string { return net.JoinHostPort(s.bind, "0") }

// mediaAddr is the address a call's SDP announces: the advertised host
// and the RTP socket's port.
func (s *Server) mediaAddr(c *rtpio.Conn) netip.AddrPort {
	return netip.AddrPortFrom(s.host, c.LocalAddr().Port())
}

// discard is an io.Writer that drops sipgo's own logs (voxgate logs with zap).
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// Addr is where SIP listens (UDP and TCP share the port).
func (s *Server) Addr() netip.AddrPort { return s.udp.LocalAddr().(*net.UDPAddr).AddrPort() }

// Serve answers SIP until Close.
func (s *Server) Serve() {
	s.wg.Add(3)
	go s.emitDigits()
	go func() { defer s.wg.Done(); _ = s.srv.ServeUDP(s.udp) }()
	go func() { defer s.wg.Done(); _ = s.srv.ServeTCP(s.tcp) }()
	if s.tls != nil {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); _ = s.srv.ServeTLS(s.tls) }()
	}
}

// TLSAddr is where SIP over TLS listens; invalid without a certificate.
func (s *Server) TLSAddr() netip.AddrPort {
	if s.tls == nil {
		return netip.AddrPort{}
	}
	return s.tls.Addr().(*net.TCPAddr).AddrPort()
}

// dialers is the dialog cache to place a call through trunk t with: on TLS
// the Contact is the TLS listener, so the carrier's requests come back on TLS.
func (s *Server) dialers(t *session.Trunk) *sipgo.DialogClientCache {
	if s.tlsDia != nil && t != nil && t.Transport == "tls" {
		return s.tlsDia
	}
	return s.dialer
}

// dialogs is the dialog cache of calls answered on req's transport.
func (s *Server) dialogs(req *sipmsg.Request) *sipgo.DialogServerCache {
	if s.tlsDlg != nil && strings.EqualFold(req.Transport(), "TLS") {
		return s.tlsDlg
	}
	return s.dialog
}

// Drain refuses new calls with 503 and Retry-After; calls in progress go on.
func (s *Server) Drain() { s.draining.Store(true) }

// Calls counts the calls in progress, inbound and outbound, from the INVITE
// until they end: also those answered whose leg has not joined its session yet.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

// Close hangs up every call and stops listening.
func (s *Server) Close() error {
	s.mu.Lock()
	calls := make([]*Call, 0, len(s.calls))
	for _, c := range s.calls {
		calls = append(calls, c)
	}
	s.mu.Unlock()
	for _, c := range calls {
		_ = c.Close(errServerClosed)
		<-c.ended
	}
	if s.udp != nil {
		s.udp.Close()
	}
	if s.tcp != nil {
		s.tcp.Close()
	}
	if s.tls != nil {
		s.tls.Close()
	}
	if s.srv != nil {
		s.srv.Close()
	}
	if s.ua != nil {
		s.ua.Close()
	}
	s.stopOnce.Do(func() { close(s.stop) })
	s.wg.Wait()
	return nil
}

func respond(req *sipmsg.Request, tx sipmsg.ServerTransaction, code int, reason string, hdrs ...sipmsg.Header) {
	res := sipmsg.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	_ = tx.Respond(res)
}

// wellFormed answers the request 400 or 416 when what the parser let through
// is still wrong (RFC 4475 mismatch01, unkscm) and reports whether it may be
// handled.
func wellFormed(req *sipmsg.Request, tx sipmsg.ServerTransaction) bool {
	switch {
	case req.CSeq() == nil || req.CSeq().MethodName != req.Method:
		respond(req, tx, 400, "CSeq Method Does Not Match")
		return false
	case !slices.Contains([]string{"", "sip", "sips"}, strings.ToLower(req.Recipient.Scheme)):
		respond(req, tx, 416, "Unsupported URI Scheme")
		return false
	}
	return true
}

// sourceAddr is the address a request came from.
func sourceAddr(req *sipmsg.Request) netip.Addr {
	host, _, err := net.SplitHostPort(req.Source())
	if err != nil {
		return netip.Addr{}
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

// xHeaders collects the X- headers of a request.
func xHeaders(req *sipmsg.Request) map[string]string {
	out := map[string]string{}
	for _, h := range req.Headers() {
		if name := h.Name(); strings.HasPrefix(strings.ToLower(name), "x-") {
			out[name] = h.Value()
		}
	}
	return out
}
