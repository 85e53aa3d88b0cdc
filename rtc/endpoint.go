// Package rtc makes WebRTC peers (browsers) session legs: Opus both ways
// over DTLS-SRTP, ICE with host candidates plus configured STUN/TURN
// servers, answered without trickle (the answer carries every candidate).
// It is the only package that imports pion/webrtc (pinned at v4.2.20); it is
// not named webrtc so as not to clash with it.
package rtc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"go.uber.org/zap"

	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/store"
)

// Sessions is what a WebRTC leg needs from the session layer;
// *session.Manager satisfies it.
type Sessions interface {
	LegSpeaker(ctx context.Context, sc store.Scope, sessionID, explicit string, fallback session.Speaker) (session.Speaker, error)
	StartCall(ctx context.Context, sessionID string, c session.Call) (session.Call, error)
	CallEnded(ctx context.Context, callID string, status session.CallStatus, cause string, sipStatus int) error
	AnswerLeg(ctx context.Context, sessionID string, leg session.Leg, codec string) error
}

// Endpoint answers browsers' offers with peers that join sessions.
type Endpoint struct {
	cfg      Config
	api      *webrtc.API
	sessions Sessions
	log      *zap.Logger
}

// opusCodec is what voxgate offers and accepts: Opus 48 kHz, stereo in SDP
// as RFC 7587 requires, mono in practice, in-band FEC on.
var opusCodec = webrtc.RTPCodecCapability{
	MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1",
}

// NewEndpoint builds an endpoint.
func NewEndpoint(cfg Config, sessions Sessions, log *zap.Logger) (*Endpoint, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: opusCodec, PayloadType: 111}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	// Of pion's default interceptors an audio-only peer needs the RTCP
	// reports; NACK and simulcast serve video, and the per-packet stats and
	// transport-wide congestion feedback serve nothing here.
	reg := &interceptor.Registry{}
	if err := webrtc.ConfigureRTCPReports(reg); err != nil {
		return nil, err
	}
	var se webrtc.SettingEngine
	se.SetICETimeouts(5*time.Second, 10*time.Second, 2*time.Second)
	if cfg.PortMax > 0 {
		if err := se.SetEphemeralUDPPortRange(cfg.PortMin, cfg.PortMax); err != nil {
			return nil, err
		}
	}
	if len(cfg.NAT1To1IPs) > 0 {
		rule := webrtc.ICEAddressRewriteRule{External: cfg.NAT1To1IPs, AsCandidateType: webrtc.ICECandidateTypeHost}
		if err := se.SetICEAddressRewriteRules(rule); err != nil {
			return nil, fmt.Errorf("nat_1to1_ips: %w", err)
		}
	}
	if cfg.LoopbackOnly {
		se.SetIncludeLoopbackCandidate(true)
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}
	se.SetNetworkTypes(append([]webrtc.NetworkType{webrtc.NetworkTypeUDP4}, networkTypesV6(cfg.LoopbackOnly)...))
	return &Endpoint{
		cfg: cfg, sessions: sessions, log: log,
		api: webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)),
	}, nil
}

func networkTypesV6(loopbackOnly bool) []webrtc.NetworkType {
	if loopbackOnly {
		return nil
	}
	return []webrtc.NetworkType{webrtc.NetworkTypeUDP6}
}

func (e *Endpoint) iceServers() []webrtc.ICEServer {
	out := make([]webrtc.ICEServer, len(e.cfg.ICEServers))
	for i, s := range e.cfg.ICEServers {
		out[i] = webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential}
	}
	return out
}

// checkOffer refuses what is not an SDP offer with audio.
func checkOffer(offer string) error {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(offer); err != nil {
		return &session.InvalidError{Param: "sdp", Code: "invalid_sdp", Message: "sdp is not a valid SDP offer"}
	}
	for _, m := range sd.MediaDescriptions {
		if m.MediaName.Media == "audio" {
			return nil
		}
	}
	return &session.InvalidError{Param: "sdp", Code: "no_audio", Message: "the offer has no audio m-line"}
}

// Answer answers a browser's offer: a peer joins the session as speaker
// (by SPEC §2 when empty) once ICE connects. It returns the answer SDP with
// every candidate, and the call ID.
func (e *Endpoint) Answer(ctx context.Context, sc store.Scope, sessionID, offer, speaker string) (string, string, error) {
	if err := checkOffer(offer); err != nil {
		return "", "", err
	}
	spk, err := e.sessions.LegSpeaker(ctx, sc, sessionID, speaker, session.SpeakerAgent)
	if err != nil {
		return "", "", err
	}
	pc, err := e.api.NewPeerConnection(webrtc.Configuration{ICEServers: e.iceServers()})
	if err != nil {
		return "", "", fmt.Errorf("rtc: new peer connection: %w", err)
	}
	p, err := newPeer(pc, spk)
	if err != nil {
		_ = pc.Close()
		return "", "", err
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		p.shutdown()
		return "", "", &session.InvalidError{Param: "sdp", Code: "invalid_sdp", Message: "the offer was refused: " + err.Error()}
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		p.shutdown()
		return "", "", &session.InvalidError{Param: "sdp", Code: "invalid_sdp", Message: "no answer to this offer: " + err.Error()}
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		p.shutdown()
		return "", "", fmt.Errorf("rtc: set local description: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		p.shutdown()
		return "", "", ctx.Err()
	}
	call, err := e.sessions.StartCall(ctx, sessionID, session.Call{
		Direction: "inbound", Transport: "webrtc", Speaker: spk, Status: session.CallRinging, From: "webrtc",
	})
	if err != nil {
		p.shutdown()
		return "", "", err
	}
	p.callID = call.ID
	p.log = e.log.With(zap.String("session_id", sessionID), zap.String("call_id", call.ID))
	go e.supervise(sessionID, p)
	return pc.LocalDescription().SDP, call.ID, nil
}

// supervise joins the peer to the session when ICE connects and records
// how its call ends.
func (e *Endpoint) supervise(sessionID string, p *Peer) {
	ctx := context.Background()
	timer := time.NewTimer(e.cfg.ConnectTimeout)
	defer timer.Stop()
	select {
	case <-p.connected:
		if err := e.sessions.AnswerLeg(ctx, sessionID, p, "opus"); err != nil {
			p.Close(err)
		}
	case <-timer.C:
		p.Close(ErrICETimeout)
	case <-p.done:
	}
	<-p.done
	status, cause := session.CallEnded, causeOf(p.cause)
	if err := e.sessions.CallEnded(ctx, p.callID, status, cause, 0); err != nil && !errors.Is(err, session.ErrNotFound) {
		p.log.Warn("call end not recorded", zap.Error(err))
	}
	p.log.Info("webrtc peer ended", zap.String("cause", cause))
}

func causeOf(err error) string {
	var ended *session.EndedError
	switch {
	case err == nil:
		return "peer_closed"
	case errors.As(err, &ended):
		return "session_ended"
	case errors.Is(err, session.ErrHangup):
		return "api_hangup"
	case errors.Is(err, ErrICETimeout):
		return "ice_timeout"
	case errors.Is(err, ErrICEFailed):
		return "ice_failed"
	case errors.Is(err, ErrPeerClosed):
		return "peer_closed"
	}
	return "error"
}
