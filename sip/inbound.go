package sip

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"go.uber.org/zap"

	"github.com/voxgate/voxgate/id"
	"github.com/voxgate/voxgate/media"
	"github.com/voxgate/voxgate/media/rtpio"
	"github.com/voxgate/voxgate/session"
)

// onInvite answers an inbound call: trunk check, routing, codec
// negotiation, then 100, 180 and 200 with the answer; the ACK makes the
// call a leg of its session.
func (s *Server) onInvite(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	log := s.log.WithLazy(zap.String("sip_call_id", callIDOf(req)), zap.String("remote_addr", req.Source()))
	if !wellFormed(req, tx) {
		return
	}
	if to := req.To(); to != nil && to.Params.Has("tag") {
		s.reinvite(req, tx)
		return
	}
	if s.draining.Load() {
		respond(req, tx, 503, "Service Unavailable", sipmsg.NewHeader("Retry-After", "30"))
		return
	}
	trunks, nets, err := s.loadTrunks(ctx)
	if err != nil {
		log.Warn("trunks not loaded", zap.Error(err))
		respond(req, tx, 500, "Server Error")
		return
	}
	trunk, ok := trunkByAddr(trunks, nets, sourceAddr(req))
	if !ok {
		// Not a trunk's address: its digest credentials, before anything
		// about the user is looked at, so no answer says what exists.
		var verdict authVerdict
		trunk, verdict = s.auth.authenticate(req, trunks)
		switch {
		case verdict == authOK:
		case verdict == authForbidden || !hasCredentials(trunks):
			respond(req, tx, 403, "Forbidden")
			return
		default:
			respond(req, tx, 401, "Unauthorized", s.auth.challenge(verdict == authStale))
			return
		}
	}
	switch s.reserve(slotOf(trunk)) {
	case 503:
		respond(req, tx, 503, "Service Unavailable", sipmsg.NewHeader("Retry-After", "5"))
		return
	case 486:
		respond(req, tx, 486, "Busy Here")
		return
	}
	registered := false // from then on, finish releases the trunk
	defer func() {
		if !registered {
			s.release(slotOf(trunk))
		}
	}()
	user := req.Recipient.User
	if trunk.NumberFormat == "national" && user != "" && !strings.HasPrefix(user, "+") && !strings.HasPrefix(user, "sess_") {
		user = "+" + user // national numbers are configured with their country code, without '+'
	}
	sid, err := s.sessions.RouteInbound(ctx, trunk.Scope, user)
	var moved *session.MovedError
	if errors.As(err, &moved) { // cluster mode: the session's media runs on another node
		respond(req, tx, 302, "Moved Temporarily", sipmsg.NewHeader("Contact", "<sip:"+moved.SessionID+"@"+moved.SIPHost+">"))
		return
	}
	if errors.Is(err, session.ErrNotFound) || errors.Is(err, session.ErrEnded) {
		respond(req, tx, 404, "Not Found")
		return
	}
	if err != nil {
		log.Warn("inbound routing failed", zap.Error(err))
		respond(req, tx, 500, "Server Error")
		return
	}
	var (
		audio                     Codec
		dtmf                      *Codec
		offer                     SDP
		remoteCrypto, localCrypto *Crypto // SRTP's keys, when the media is secured
	)
	lateOffer := len(req.Body()) == 0
	if lateOffer && trunk.SRTP == "require" {
		respond(req, tx, 488, "Not Acceptable Here") // SRTP needs the caller's offer
		return
	}
	if !lateOffer {
		if offer, err = ParseSDP(req.Body()); err != nil || !offer.HasAudio {
			respond(req, tx, 400, "Bad SDP")
			return
		}
		if audio, dtmf, err = Negotiate(offer); err != nil {
			respond(req, tx, 488, "Not Acceptable Here")
			return
		}
		if remoteCrypto, localCrypto, err = secureAnswer(trunk.SRTP, offer); err != nil {
			respond(req, tx, 488, "Not Acceptable Here")
			return
		}
	}
	dlg, err := s.dialogs(req).ReadInvite(req, tx)
	if err != nil {
		if tx.Err() == nil { // else CANCELed already, and answered 487
			respond(req, tx, 400, "Bad Request")
		}
		return
	}
	_ = dlg.Respond(100, "Trying", nil)
	speaker := session.SpeakerCustomer
	if h := req.GetHeader("X-Voxgate-Speaker"); h != nil && session.Speaker(h.Value()).Valid() {
		speaker = session.Speaker(h.Value())
	}
	callID := id.New(id.Call)
	call := &Call{id: callID, sessionID: sid, sipID: callIDOf(req), slot: slotOf(trunk), speaker: speaker, dialog: dlg,
		done: make(chan struct{}), ended: make(chan struct{}), ackBody: make(chan []byte, 1),
		log: log.WithLazy(zap.String("call_id", callID), zap.String("session_id", sid))}
	rtpCfg := rtpio.Config{Local: s.rtpBind(), PortMin: s.cfg.RTPPortMin, PortMax: s.cfg.RTPPortMax, MediaTimeout: s.cfg.MediaTimeout, RTCPMux: false,
		OnDTMF: s.dtmfEmitter(sid, callID)}
	if !lateOffer {
		rtpCfg.PayloadType, rtpCfg.ClockRate = audio.PayloadType, audio.ClockRate
		rtpCfg.Remote = netipAddrPort(offer)
		if dtmf != nil {
			rtpCfg.DTMFPayloadType = dtmf.PayloadType
		}
	} else {
		rtpCfg.PayloadType, rtpCfg.ClockRate = Supported[0].PayloadType, Supported[0].ClockRate
		rtpCfg.DTMFPayloadType = TelephoneEvent.PayloadType
	}
	if call.rtp, err = rtpio.Listen(rtpCfg); err != nil {
		log.Warn("no RTP port", zap.Error(err))
		_ = dlg.Respond(503, "Service Unavailable", nil)
		return
	}
	if localCrypto != nil {
		if err := call.rtp.SetSRTP(SRTPKeys(*localCrypto, *remoteCrypto)); err != nil {
			_ = call.rtp.Close()
			_ = dlg.Respond(488, "Not Acceptable Here", nil)
			return
		}
		call.crypto = localCrypto
	}
	from := req.From().Address.User
	if _, err := s.sessions.StartCall(ctx, sid, session.Call{ID: callID, Direction: "inbound", Transport: "sip", Speaker: speaker,
		From: from, To: req.Recipient.User, Status: session.CallRinging, SIPCallID: callIDOf(req), SIPHeaders: xHeaders(req)}); err != nil {
		_ = call.rtp.Close()
		_ = dlg.Respond(404, "Not Found", nil)
		return
	}
	_ = dlg.Respond(180, "Ringing", nil)
	var answer []byte
	if lateOffer {
		answer = AnswerSDP(uint64(time.Now().Unix()), s.mediaAddr(call.rtp), SendRecv, append(append([]Codec(nil), Supported...), TelephoneEvent)...)
	} else {
		codecs := []Codec{audio}
		if dtmf != nil {
			codecs = append(codecs, *dtmf)
		}
		answer = AnswerSDP(uint64(time.Now().Unix()), s.mediaAddr(call.rtp), offer.Direction.Reverse(), codecs...)
		if localCrypto != nil {
			answer = SecureSDP(answer, *localCrypto)
		}
	}
	// Known before the 200 goes out: its ACK may come back at once.
	s.mu.Lock()
	s.calls[callID] = call
	s.bySIPID[call.sipID] = call
	s.mu.Unlock()
	registered = true
	// RespondSDP sends the 200 until the ACK comes; it returns an error
	// when the ACK does not: how the dialog stands says why.
	acked := true
	if err := dlg.RespondSDP(answer); err != nil {
		acked = false
		switch state := dlg.LoadState(); {
		case errors.Is(tx.Err(), sipmsg.ErrTransactionCanceled): // before the answer: the transaction answered 487
			s.finish(call, sid, session.CallCanceled, "canceled", 487)
			return
		case state == sipmsg.DialogStateEstablished:
			// No ACK within 64×T1 (the transaction's timer L): the dialog
			// is confirmed, and ends with a BYE (RFC 3261 §13.3.1.4).
			call.confirmed(dlg.Bye)
			s.finish(call, sid, session.CallFailed, "no_ack", 408)
			return
		case state != sipmsg.DialogStateEnded: // the 200 never went out
			s.finish(call, sid, session.CallFailed, "answer_failed", 0)
			return
		}
		// Ended by the caller's BYE before its ACK came (lost, or overtaken
		// on a busy gateway): the BYE carries our 200's tag, so the call
		// was answered, and is over (join joins and ends it).
	}
	s.wg.Add(1) // Close waits for the call to be joined and watched
	defer s.wg.Done()
	s.join(call, sid, lateOffer, acked)
}

// join joins an answered call (its ACK came, or, not acked, its BYE) to its
// session and has its end recorded (watchEnd).
func (s *Server) join(call *Call, sid string, lateOffer, acked bool) {
	call.confirmed(call.dialog.Bye)
	switch {
	case lateOffer && !acked: // no answer to our offer, and no call left to send to
		call.format = formatOf(Supported[0])
	case lateOffer:
		if err := s.takeLateAnswer(call); err != nil {
			call.log.Info("late offer answer unusable", zap.Error(err))
			_ = call.Close(err)
			s.finish(call, sid, session.CallFailed, "no_common_codec", 488)
			return
		}
	default:
		codec, _, _ := Negotiate(mustParse(call.dialog.InviteRequest.Body()))
		call.format = formatOf(codec)
	}
	ctx := context.Background()
	if err := s.sessions.AnswerLeg(ctx, sid, call, call.format.Codec); err != nil {
		_ = call.Close(err)
	}
	s.watchEnd(call, sid, call.dialog.Context(), 0)
}

// watchEnd ends an answered call when the far end hangs up (its dialog's
// context ends), its media times out or maxDuration (when set) passes, and
// records its end once it has ended, for these reasons or any other (every
// Close ends its media): no goroutine waits on the call meanwhile.
func (s *Server) watchEnd(call *Call, sid string, dialog context.Context, maxDuration time.Duration) {
	s.wg.Add(1)
	stopBye := context.AfterFunc(dialog, func() { _ = call.Close(ErrRemoteBye) })
	var limit *time.Timer
	if maxDuration > 0 {
		limit = time.AfterFunc(maxDuration, func() { _ = call.Close(errMaxDuration) })
	}
	call.rtp.OnEnd(func(err error) {
		defer s.wg.Done()
		_ = call.Close(err) // the media timed out; or it returns once the Close that ended it has hung up
		stopBye()
		if limit != nil {
			limit.Stop()
		}
		s.finish(call, sid, session.CallEnded, causeOf(call.cause), 0)
	})
}

// takeLateAnswer applies the answer the ACK carried to our late offer.
func (s *Server) takeLateAnswer(call *Call) error {
	var body []byte
	select {
	case body = <-call.ackBody:
	default:
		return errors.New("sip: the ACK carried no answer to the late offer")
	}
	answer, err := ParseSDP(body)
	if err != nil {
		return err
	}
	audio, dtmf, err := Negotiate(answer)
	if err != nil {
		return err
	}
	_ = dtmf // the offer's telephone-event payload type (101) stays
	call.rtp.SetCodec(audio.PayloadType, audio.ClockRate)
	call.rtp.SetRemote(netipAddrPort(answer))
	call.format = formatOf(audio)
	return nil
}

// onAck passes the ACK to its dialog, keeping a late offer's answer.
func (s *Server) onAck(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if len(req.Body()) > 0 {
		s.mu.Lock()
		call := s.bySIPID[callIDOf(req)]
		s.mu.Unlock()
		if call != nil {
			select {
			case call.ackBody <- req.Body():
			default:
			}
		}
	}
	_ = s.dialogs(req).ReadAck(req, tx) // an ACK outside a dialog of ours needs no answer
}

// finish records a call's end once and forgets it.
func (s *Server) finish(call *Call, sid string, status session.CallStatus, cause string, sipStatus int) {
	_ = call.Close(errors.New(cause))
	s.mu.Lock()
	delete(s.calls, call.id)
	delete(s.bySIPID, call.sipID)
	s.mu.Unlock()
	s.release(call.slot)
	if err := s.sessions.CallEnded(context.Background(), call.id, status, cause, sipStatus); err != nil && !errors.Is(err, session.ErrNotFound) {
		call.log.Warn("call end not recorded", zap.Error(err))
	}
	call.log.Info("sip call ended", zap.String("cause", cause))
	close(call.ended)
}

func (s *Server) onBye(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if s.dialogs(req).ReadBye(req, tx) == nil || s.dialer.ReadBye(req, tx) == nil || (s.tlsDia != nil && s.tlsDia.ReadBye(req, tx) == nil) {
		return
	}
	respond(req, tx, 481, "Call/Transaction Does Not Exist")
}

// onInfo takes SIP INFO application/dtmf-relay digits ("Signal=5") in a dialog.
func (s *Server) onInfo(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	s.mu.Lock()
	call := s.bySIPID[callIDOf(req)]
	s.mu.Unlock()
	if call == nil {
		respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	respond(req, tx, 200, "OK")
	if ct := req.ContentType(); ct == nil || !strings.EqualFold(ct.Value(), "application/dtmf-relay") {
		return
	}
	if digit, ms, ok := parseDTMFRelay(req.Body()); ok {
		data := map[string]any{"session_id": call.sessionID, "call_id": call.id, "digit": string(digit), "method": "info"}
		if ms > 0 {
			data["duration_ms"] = ms
		}
		_ = s.sessions.Emit(context.Background(), call.sessionID, "dtmf.received", data)
	}
}

// parseDTMFRelay reads an application/dtmf-relay body ("Signal=5\r\nDuration=160"):
// the digit (upper case) and its duration in ms, 0 when absent.
func parseDTMFRelay(body []byte) (digit byte, durationMS int, ok bool) {
	for _, line := range strings.Split(string(body), "\n") {
		k, v, found := strings.Cut(strings.TrimSpace(line), "=")
		if !found {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "signal":
			if len(v) == 1 {
				if _, valid := media.EventOf(v[0]); valid {
					digit, ok = strings.ToUpper(v)[0], true
				}
			}
		case "duration":
			if n, err := strconv.Atoi(v); err == nil && n > 0 && n < 60_000 {
				durationMS = n
			}
		}
	}
	return digit, durationMS, ok
}

// Hangup ends a call this server holds.
func (s *Server) Hangup(callID string) error {
	s.mu.Lock()
	call := s.calls[callID]
	s.mu.Unlock()
	if call == nil {
		return session.ErrNotFound
	}
	err := call.Close(session.ErrHangup) // first, so the ring's end reads as a hangup
	if call.cancelRing != nil {
		call.cancelRing() // still ringing: the INVITE is canceled
	}
	return err
}

func callIDOf(req *sipmsg.Request) string {
	if h := req.CallID(); h != nil {
		return h.Value()
	}
	return ""
}

func mustParse(body []byte) SDP {
	s, _ := ParseSDP(body)
	return s
}

// reinvite answers an INVITE within a call: hold and resume. The answer
// mirrors the offer's direction (sendonly ↔ recvonly, inactive), and the
// media timeout pauses while the far end is not sending.
func (s *Server) reinvite(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	s.mu.Lock()
	call := s.bySIPID[callIDOf(req)]
	s.mu.Unlock()
	if call == nil {
		respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	offer, err := ParseSDP(req.Body())
	if err != nil || !offer.HasAudio {
		respond(req, tx, 488, "Not Acceptable Here")
		return
	}
	audio, dtmf, err := Negotiate(offer)
	if err != nil {
		respond(req, tx, 488, "Not Acceptable Here")
		return
	}
	if call.crypto != nil && (!offer.Secure() || len(offer.Crypto) == 0) {
		respond(req, tx, 488, "Not Acceptable Here") // SRTP cannot fall back to plain RTP
		return
	}
	held := offer.Direction == SendOnly || offer.Direction == Inactive || offer.Addr.IsUnspecified()
	call.rtp.Hold(held)
	if !offer.Addr.IsUnspecified() && offer.Port > 0 {
		call.rtp.SetRemote(netipAddrPort(offer))
	}
	codecs := []Codec{audio}
	if dtmf != nil {
		codecs = append(codecs, *dtmf)
	}
	answer := AnswerSDP(uint64(time.Now().Unix()), s.mediaAddr(call.rtp), offer.Direction.Reverse(), codecs...)
	if call.crypto != nil { // the media stays secured; a new key from the peer is taken
		if err := call.rtp.SetSRTP(SRTPKeys(*call.crypto, offer.Crypto[0])); err != nil {
			respond(req, tx, 488, "Not Acceptable Here")
			return
		}
		answer = SecureSDP(answer, *call.crypto)
	}
	_ = tx.Respond(sipmsg.NewSDPResponseFromRequest(req, answer))
	call.log.Info("re-invite", zap.Bool("held", held), zap.String("direction", string(offer.Direction)))
}
