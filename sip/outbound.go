package sip

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"go.uber.org/zap"

	"github.com/voxgate/voxgate/media/rtpio"
	"github.com/voxgate/voxgate/session"
)

// refusalWait is how long Dial waits for a refusal (or for ringing) before it reports the
// call as under way (a trunk that refuses does so at once). A far end that has not sent
// any response by then (not even 100 Trying, due within 200 ms by RFC 3261 §16.2, after
// three UDP retransmissions) is unreachable: the INVITE is abandoned and Dial fails.
const refusalWait = 2 * time.Second

// progressGrace is how long after a 180 Dial still waits for a final
// refusal sent right behind it (a busy phone that rings first).
const progressGrace = 250 * time.Millisecond

// Dial places an outbound call (session.Dialer): an INVITE through the trunk
// or straight to a sip: URI, offering every codec voxgate speaks.
func (s *Server) Dial(ctx context.Context, req session.DialRequest) error {
	if s.draining.Load() {
		return &session.DialError{SIPStatus: 503, Reason: "gateway draining"}
	}
	target, from, err := s.addresses(req)
	if err != nil {
		return &session.DialError{SIPStatus: 400, Reason: err.Error()}
	}
	c := req.Call
	call := &Call{id: c.ID, sessionID: c.SessionID, speaker: c.Speaker, done: make(chan struct{}), ended: make(chan struct{}),
		log: s.log.WithLazy(zap.String("call_id", c.ID), zap.String("session_id", c.SessionID))}
	if req.Trunk != nil {
		call.slot = slotOf(*req.Trunk)
	} else {
		call.slot = slot{orgID: req.Scope.OrgID}
	}
	switch s.reserve(call.slot) {
	case 503:
		return &session.DialError{SIPStatus: 503, Reason: "trunk at max_concurrent_calls"}
	case 486:
		return &session.DialError{SIPStatus: 486, Reason: "organization at its concurrent call limit"}
	}
	rtpCfg := rtpio.Config{Local: s.rtpBind(), PortMin: s.cfg.RTPPortMin, PortMax: s.cfg.RTPPortMax,
		PayloadType: Supported[0].PayloadType, ClockRate: Supported[0].ClockRate, DTMFPayloadType: TelephoneEvent.PayloadType,
		MediaTimeout: s.cfg.MediaTimeout, OnDTMF: s.dtmfEmitter(c.SessionID, c.ID)}
	if call.rtp, err = rtpio.Listen(rtpCfg); err != nil {
		s.release(call.slot)
		return &session.DialError{SIPStatus: 503, Reason: "no RTP port"}
	}
	call.rtp.Hold(true) // no media timeout while it rings
	offer := AnswerSDP(uint64(time.Now().Unix()), s.mediaAddr(call.rtp), SendRecv, append(append([]Codec(nil), Supported...), TelephoneEvent)...)
	if req.Trunk != nil && req.Trunk.SRTP == "require" { // offered secured only; allow and disable offer plain RTP
		c := NewCrypto(1, "AES_CM_128_HMAC_SHA1_80")
		call.crypto, offer = &c, SecureSDP(offer, c)
	}
	fromParams := sipmsg.NewParams()
	fromParams.Add("tag", sipmsg.GenerateTagN(16))
	hdrs := []sipmsg.Header{&sipmsg.FromHeader{DisplayName: req.CallerIDName, Address: from, Params: fromParams}}
	for k, v := range req.Headers {
		hdrs = append(hdrs, sipmsg.NewHeader(k, v))
	}
	wait := req.Timeout
	if wait <= 0 {
		wait = 30 * time.Second
	}
	dialCtx, abandon := context.WithCancelCause(context.Background())
	ringCtx, cancel := context.WithTimeout(dialCtx, wait)
	dlg, err := s.dialers(req.Trunk).Invite(ringCtx, target, offer, hdrs...)
	if err != nil {
		cancel()
		abandon(nil)
		_ = call.rtp.Close()
		s.release(call.slot)
		return &session.DialError{SIPStatus: 503, Reason: err.Error()}
	}
	call.sipID = callIDOf(dlg.InviteRequest)
	call.cancelRing = func() { cancel(); abandon(nil) }
	s.mu.Lock()
	s.calls[call.id] = call
	s.mu.Unlock()
	refused, progress := make(chan error, 1), make(chan struct{}, 1)
	s.wg.Add(1)
	go s.runOutbound(ringCtx, call, dlg, req, refused, progress)
	select {
	case err := <-refused:
		return err
	case <-progress: // ringing or answered: under way, unless refused right after
		select {
		case err := <-refused:
			return err
		case <-time.After(progressGrace):
			return nil
		}
	case <-time.After(refusalWait):
		if call.reached.Load() {
			return nil
		}
		call.unreachable.Store(true)
		abandon(sipgo.WaitAnswerForceCancelErr) // nothing to CANCEL before a response
		return <-refused
	case <-ctx.Done():
		return nil // the call goes on; its progress arrives as events
	}
}

// addresses works out the Request-URI and From of an outbound call.
func (s *Server) addresses(req session.DialRequest) (target, from sipmsg.Uri, err error) {
	to := req.Call.To
	if t := req.Trunk; t != nil {
		user := to
		if t.NumberFormat == "national" {
			user = strings.TrimPrefix(user, "+")
		}
		target = sipmsg.Uri{User: user, Host: t.OutboundHost, Port: t.OutboundPort}
		if t.Transport == "tcp" || t.Transport == "tls" {
			target.UriParams = sipmsg.NewParams()
			target.UriParams.Add("transport", t.Transport)
		}
	} else if err = sipmsg.ParseUri(to, &target); err != nil {
		return target, from, fmt.Errorf("to: %w", err)
	}
	fromUser := strings.TrimPrefix(strings.TrimPrefix(req.Call.From, "sip:"), "sips:")
	fromUser, _, _ = strings.Cut(fromUser, "@")
	if fromUser == "" {
		fromUser = "voxgate"
	}
	host := s.host.String()
	if req.Trunk != nil && req.Trunk.FromDomain != "" {
		host = req.Trunk.FromDomain
	}
	return target, sipmsg.Uri{User: fromUser, Host: host}, nil
}

// runOutbound waits for the answer, joins the call to its session, and
// records how it ends. A refusal before refusalWait goes back to Dial.
func (s *Server) runOutbound(ringCtx context.Context, call *Call, dlg *sipgo.DialogClientSession, req session.DialRequest, refused chan<- error, progress chan<- struct{}) {
	defer s.wg.Done()
	defer call.cancelRing()
	ctx := context.Background()
	opts := sipgo.AnswerOptions{OnResponse: func(res *sipmsg.Response) error {
		call.reached.Store(true)
		if res.StatusCode == 180 || res.StatusCode == 183 {
			_ = s.sessions.CallRinging(ctx, call.id, res.StatusCode)
		}
		if res.StatusCode == 183 && !call.early && len(res.Body()) > 0 {
			s.startEarlyMedia(call, res.Body())
		}
		if res.StatusCode >= 180 && res.StatusCode < 300 {
			select {
			case progress <- struct{}{}:
			default:
			}
		}
		return nil
	}}
	if req.Trunk != nil {
		opts.Username, opts.Password = req.Trunk.Username, req.Trunk.Password
	}
	answered := guarded(call.log, func() error { return dlg.WaitAnswer(ringCtx, opts) })
	var err error
	select {
	case err = <-answered:
	case <-ringCtx.Done():
		// Timed out or hung up while ringing: the call ends now; the CANCEL
		// handshake finishes in the background (up to 64*T1).
		err = ringCtx.Err()
		defer func() { <-answered }()
	}
	if err != nil {
		status, cause, code := failure(err, ringCtx, call)
		_ = call.rtp.Close()
		s.finish(call, call.sessionID, status, cause, code)
		refused <- &session.DialError{SIPStatus: code, Reason: cause}
		return
	}
	if err := call.applyAnswer(dlg.InviteResponse.Body()); err != nil {
		_ = dlg.Ack(ctx)
		call.confirmed(dlg.Bye) // answered with nothing we speak: hang up
		_ = call.Close(err)
		cause := "no_common_codec"
		if errors.Is(err, ErrSRTPPolicy) {
			cause = "srtp_required"
		}
		s.finish(call, call.sessionID, session.CallFailed, cause, 488)
		return
	}
	call.rtp.Hold(false) // the media timeout runs from the answer
	if err := dlg.Ack(ctx); err != nil {
		_ = call.Close(err)
		s.finish(call, call.sessionID, session.CallFailed, "ack_failed", 0)
		return
	}
	call.confirmed(dlg.Bye)
	if call.early { // its leg joined on the 183
		_ = s.sessions.CallAnswered(ctx, call.id, call.format.Codec)
	} else if err := s.sessions.AnswerLeg(ctx, call.sessionID, call, call.format.Codec); err != nil {
		_ = call.Close(err)
	}
	s.watchEnd(call, call.sessionID, dlg.Context(), req.MaxDuration)
}

// guarded runs f on a goroutine of its own and gives its result on the
// returned channel; a panic in f is logged and given as an error. sipgo
// v1.7's WaitAnswer panics when the CANCEL it sends for a canceled wait has
// its transaction ended without a response and, for a moment, without an
// error either (Terminate closes its done channel first: at shutdown, under
// load): it reads the response it does not have. That is a CANCEL that
// failed, not a reason to take the gateway down.
func guarded(log *zap.Logger, f func() error) <-chan error {
	result := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				log.Error("sip: recovered from a panic in the SIP stack", zap.Any("panic", r), zap.Stack("stack"))
				result <- fmt.Errorf("sip: %v", r)
			}
		}()
		result <- f()
	}()
	return result
}

// startEarlyMedia joins a call to its session on a 183 with an SDP answer,
// so that a ringback or an announcement is heard before the answer.
func (s *Server) startEarlyMedia(call *Call, body []byte) {
	if err := call.applyAnswer(body); err != nil {
		call.log.Debug("early media not usable", zap.Error(err))
		return
	}
	if err := s.sessions.AddEarlyLeg(context.Background(), call.sessionID, call); err != nil {
		call.log.Info("early media not joined", zap.Error(err))
		return
	}
	call.early = true
}

// applyAnswer takes the codec and media address of an SDP answer (a 183's or
// the 200's). The codec of early media stays: the leg's format is fixed.
func (c *Call) applyAnswer(body []byte) error {
	answer, err := ParseSDP(body)
	if err != nil {
		return err
	}
	codec, _, err := Negotiate(answer)
	if err != nil {
		return err
	}
	if err := c.secureAnswered(answer); err != nil {
		return err
	}
	c.rtp.SetRemote(netipAddrPort(answer))
	if c.early {
		if f := formatOf(codec); f != c.format {
			c.log.Warn("answer changes the early media codec; keeping it", zap.Stringer("early", c.format), zap.Stringer("answer", f))
		}
		return nil
	}
	c.rtp.SetCodec(codec.PayloadType, codec.ClockRate)
	c.format = formatOf(codec)
	return nil
}

// secureAnswered keys SRTP from the answer when the offer was secured: the
// answer must be RTP/SAVP with a key for the offered tag.
func (c *Call) secureAnswered(answer SDP) error {
	if c.crypto == nil {
		return nil
	}
	for _, remote := range answer.Crypto {
		if answer.Secure() && remote.Tag == c.crypto.Tag && remote.Suite == c.crypto.Suite {
			return c.rtp.SetSRTP(SRTPKeys(*c.crypto, remote))
		}
	}
	return ErrSRTPPolicy
}

// failure maps an unanswered INVITE to a call status, cause and SIP status.
func failure(err error, ringCtx context.Context, call *Call) (session.CallStatus, string, int) {
	var de *sipgo.ErrDialogResponse
	if errors.As(err, &de) {
		code := de.Res.StatusCode
		switch {
		case code == 486 || code == 600:
			return session.CallBusy, "busy", code
		case code == 487:
			return session.CallCanceled, "canceled", code
		case code == 408 || code == 480:
			return session.CallNoAnswer, "no_answer", code
		}
		return session.CallFailed, strings.ToLower(strings.ReplaceAll(de.Res.Reason, " ", "_")), code
	}
	select {
	case <-call.done: // hung up through the API before the answer
		return session.CallCanceled, "api_hangup", 487
	default:
	}
	if call.unreachable.Load() {
		return session.CallFailed, "unreachable", 408
	}
	if errors.Is(ringCtx.Err(), context.DeadlineExceeded) {
		return session.CallNoAnswer, "timeout", 408
	}
	return session.CallFailed, "unreachable", 503
}

// digit is an RFC 4733 digit on its way to the session's events.
type digit struct {
	sessionID, callID string
	d                 byte
}

// dtmfEmitter reports RFC 4733 digits from a call as dtmf.received. It runs
// on the call's RTP reader, which must not wait on the store: the digit is
// queued for emitDigits, in order.
func (s *Server) dtmfEmitter(sessionID, callID string) func(byte) {
	return func(d byte) {
		select {
		case s.digits <- digit{sessionID, callID, d}:
		default:
			s.log.Warn("dtmf digit dropped: the event queue is full", zap.String("call_id", callID))
		}
	}
}

// emitDigits writes queued digits as dtmf.received events until Close.
func (s *Server) emitDigits() {
	defer s.wg.Done()
	for {
		select {
		case <-s.stop:
			return
		case dg := <-s.digits:
			_ = s.sessions.Emit(context.Background(), dg.sessionID, "dtmf.received",
				map[string]any{"session_id": dg.sessionID, "call_id": dg.callID, "digit": string(dg.d), "method": "rfc4733"})
		}
	}
}
