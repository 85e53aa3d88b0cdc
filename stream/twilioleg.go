package stream

import (
	"context"
	"encoding/base64"
	"errors"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/zap"

	"github.com/voxgate/voxgate/media"
	"github.com/voxgate/voxgate/session"
)

// Why a Twilio leg ended, as its call's hangup_cause says.
var (
	errTwilioStop = errors.New("stream: twilio sent stop")
	errTwilioLost = errors.New("stream: twilio connection lost")
)

// TwilioFormat is the audio of a Twilio leg: μ-law at 8 kHz, mono.
var TwilioFormat = media.Format{Codec: media.CodecPCMU, SampleRate: 8000, Channels: 1}

// twilioChunk is one 20 ms frame of μ-law at 8 kHz.
const twilioChunk = 160

// twilioFrame is one item for Twilio: 20 ms of audio, or (in line with the
// audio) a mark or a clear.
type twilioFrame struct {
	buf   [twilioChunk]byte
	n     int
	mark  string // a mark to send
	clear bool   // a clear to send
}

// playbackEcho is a mark sent to Twilio, waiting for Twilio's echo.
type playbackEcho struct {
	name string
	echo func()
}

// TwilioLeg is a Twilio <Stream> connected to /connect, as a session leg
// (SPEC §4.2): what Twilio sends as media is the party's audio, and what
// the party hears goes back as media, one message per 20 ms.
type TwilioLeg struct {
	callID    string
	streamSid string
	speaker   session.Speaker

	in  *media.Handoff   // from Twilio, in 20 ms pieces
	out chan twilioFrame // to Twilio

	mu      sync.Mutex
	pending []playbackEcho // marks sent, in order

	done      chan struct{}
	legEnd    media.EndNotice // tells the session, right after done closes
	closeOnce sync.Once
	cause     error // set before done closes
}

func newTwilioLeg(streamSid string, spk session.Speaker) *TwilioLeg {
	return &TwilioLeg{streamSid: streamSid, speaker: spk,
		in: media.NewHandoff(50), out: make(chan twilioFrame, 50), done: make(chan struct{})}
}

// CallID names the leg.
func (l *TwilioLeg) CallID() string { return l.callID }

// Speaker is the side the caller speaks for.
func (l *TwilioLeg) Speaker() session.Speaker { return l.speaker }

// Format is μ-law at 8 kHz.
func (l *TwilioLeg) Format() media.Format { return TwilioFormat }

// ReadFrame returns the next 20 ms Twilio sent.
func (l *TwilioLeg) ReadFrame(f *media.Frame) error {
	if !l.in.Read(f, l.done) {
		return l.cause
	}
	return nil
}

// DeliverFrames hands what Twilio sends from now on to w, on the
// connection's reading goroutine, instead of keeping it for ReadFrame, and
// calls ended when the stream ends (session.FrameDeliverer); frames
// already waiting go first.
func (l *TwilioLeg) DeliverFrames(w media.Writer, ended func()) {
	l.in.Deliver(w)
	l.legEnd.Notify(ended)
}

// WriteFrame queues a frame for Twilio; it drops the frame when the socket
// is that far behind.
func (l *TwilioLeg) WriteFrame(f media.Frame) error {
	var fr twilioFrame
	fr.n = copy(fr.buf[:], f.Payload)
	select {
	case l.out <- fr:
	default:
	}
	return nil
}

// MarkPlayback sends Twilio a mark after the audio written so far; echo
// is called when Twilio echoes it (played, or dropped by a clear).
func (l *TwilioLeg) MarkPlayback(name string, echo func()) {
	l.mu.Lock()
	select {
	case <-l.done: // ended: flushEchoes has run or waits for this lock
		l.mu.Unlock()
		echo()
		return
	default:
	}
	l.pending = append(l.pending, playbackEcho{name, echo})
	l.mu.Unlock()
	select {
	case l.out <- twilioFrame{mark: name}:
	default: // the socket is stalled: do not hold the session's client waiting
		l.mu.Lock()
		l.pending = l.pending[:len(l.pending)-1]
		l.mu.Unlock()
		echo()
	}
}

// ClearPlayback sends Twilio a clear: it drops what it has buffered and
// echoes the marks still pending.
func (l *TwilioLeg) ClearPlayback() {
	select {
	case l.out <- twilioFrame{clear: true}:
	default:
	}
}

// echoed takes Twilio's echo of a mark: that mark and any before it are done.
func (l *TwilioLeg) echoed(name string) {
	l.mu.Lock()
	var due []playbackEcho
	for i, p := range l.pending {
		if p.name == name {
			due = l.pending[: i+1 : i+1]
			l.pending = l.pending[i+1:]
			break
		}
	}
	l.mu.Unlock()
	for _, p := range due {
		p.echo()
	}
}

// flushEchoes echoes every pending mark (the leg ended).
func (l *TwilioLeg) flushEchoes() {
	l.mu.Lock()
	due := l.pending
	l.pending = nil
	l.mu.Unlock()
	for _, p := range due {
		p.echo()
	}
}

// Close ends the leg with a cause; it is idempotent.
func (l *TwilioLeg) Close(cause error) error {
	l.closeOnce.Do(func() {
		l.cause = cause
		close(l.done)
		l.legEnd.End()
		l.flushEchoes() // no echo will come from Twilio now
	})
	return nil
}

// String names the leg in a pipeline.
func (l *TwilioLeg) String() string { return "Twilio(" + l.callID + ", PCMU/8000)" }

// deliver hands Twilio's audio to the session in 20 ms pieces, dropping
// what the session is too slow to take.
func (l *TwilioLeg) deliver(payload []byte) {
	for len(payload) > 0 {
		n := min(len(payload), twilioChunk)
		l.in.Put(media.Frame{Payload: payload[:n]})
		payload = payload[n:]
	}
}

// serveTwilio admits a connection without a query token as a Twilio
// <Stream>: connected, then start carrying the token in its custom
// parameters, within the start timeout; else close 4001.
func (c *conn) serveTwilio(ctx context.Context, sid string) {
	start, err := c.twilioStart()
	if err != nil {
		c.log.Info("twilio stream refused", zap.Error(err))
		c.closeWith(CloseInvalidToken, "invalid or missing token")
		return
	}
	if c.h.sessions.CheckStreamToken(ctx, sid, start.CustomParameters["token"]) != nil {
		c.closeWith(CloseInvalidToken, "invalid or expired token")
		return
	}
	spk := session.SpeakerCustomer
	if s := session.Speaker(start.CustomParameters["speaker"]); s.Valid() {
		spk = s
	}
	leg := newTwilioLeg(start.StreamSid, spk)
	call, err := c.h.sessions.StartCall(ctx, sid, session.Call{
		Direction: "inbound", Transport: "twilio", Speaker: spk, Status: session.CallRinging,
		From: start.CallSid, To: sid,
	})
	if err != nil {
		c.closeStartError(err)
		return
	}
	leg.callID = call.ID
	c.log = c.log.WithLazy(zap.String("call_id", call.ID), zap.String("stream_sid", start.StreamSid))
	bg := context.WithoutCancel(ctx)
	if err := c.h.sessions.AnswerLeg(bg, sid, leg, "PCMU"); err != nil {
		_ = leg.Close(err)
		_ = c.h.sessions.CallEnded(bg, call.ID, session.CallEnded, "session_ended", 0)
		c.closeStartError(err)
		return
	}
	c.log.Info("twilio stream joined", zap.String("speaker", string(spk)))
	go c.twilioStream(sid, leg, call.ID) // the request returns, as a client's does
}

// twilioStream carries a joined Twilio leg's media both ways, reading on the
// caller's goroutine and writing on one of its own, until the stream ends,
// and records the call's end.
func (c *conn) twilioStream(sid string, leg *TwilioLeg, callID string) {
	ctx := context.Background()
	writeDone, readDone := make(chan struct{}), make(chan struct{})
	c.readDone = readDone
	go func() {
		defer close(writeDone)
		c.twilioWriteLoop(leg)
	}()
	c.twilioReadLoop(ctx, sid, leg)
	close(readDone)
	_ = leg.Close(errTwilioLost)
	<-writeDone
	cause := twilioCause(leg.cause)
	if err := c.h.sessions.CallEnded(ctx, callID, session.CallEnded, cause, 0); err != nil && !errors.Is(err, session.ErrNotFound) {
		c.log.Warn("call end not recorded", zap.Error(err))
	}
	c.log.Info("twilio stream ended", zap.String("cause", cause))
}

// twilioStart reads connected and start within the start timeout.
func (c *conn) twilioStart() (*TwilioStart, error) {
	c.ws.SetReadLimit(c.h.cfg.ReadLimit)
	_ = c.ws.SetReadDeadline(time.Now().Add(c.h.cfg.TwilioStartTimeout))
	for i := 0; i < 2; i++ {
		kind, raw, err := c.ws.ReadMessage()
		if err != nil {
			return nil, err
		}
		c.h.messagesIn.Add(1)
		if kind != websocket.TextMessage {
			return nil, errors.New("a binary frame before start")
		}
		m, _, err := DecodeTwilio(raw)
		switch {
		case err != nil:
			return nil, err
		case m.Event == "connected" && i == 0:
			continue
		case m.Event == "start":
			if m.Start.StreamSid == "" {
				m.Start.StreamSid = m.StreamSid
			}
			return m.Start, nil
		}
		return nil, errors.New("expected connected then start, got " + m.Event)
	}
	return nil, errors.New("no start after connected")
}

// closeStartError closes a Twilio stream that could not join its session.
func (c *conn) closeStartError(err error) {
	if errors.Is(err, session.ErrEnded) {
		c.closeWith(CloseSessionEnded, "session has ended")
		return
	}
	c.log.Warn("twilio stream not joined", zap.Error(err))
	c.closeWith(websocket.CloseInternalServerErr, "internal error")
}

// twilioReadLoop takes Twilio's messages until stop or the socket closes.
func (c *conn) twilioReadLoop(ctx context.Context, sid string, leg *TwilioLeg) {
	readBy := deadline{set: c.ws.SetReadDeadline, timeout: 3 * c.h.cfg.PingInterval}
	var md mediaDecoder
	for {
		readBy.extend()
		kind, raw, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		c.h.messagesIn.Add(1)
		if kind != websocket.TextMessage {
			c.h.invalid.Add(1)
			continue
		}
		if payload, ok := md.decode(raw); ok {
			leg.deliver(payload)
			continue
		}
		m, payload, err := DecodeTwilio(raw)
		if err != nil {
			c.h.invalid.Add(1)
			continue
		}
		switch m.Event {
		case "media":
			leg.deliver(payload)
		case "dtmf":
			data := map[string]any{"session_id": sid, "call_id": leg.callID, "digit": m.DTMF.Digit, "method": "twilio"}
			if err := c.h.sessions.Emit(ctx, sid, "dtmf.received", data); err != nil {
				c.log.Warn("dtmf not reported", zap.Error(err))
			}
		case "mark":
			leg.echoed(m.Mark.Name)
		case "stop":
			_ = leg.Close(errTwilioStop)
			return
		}
	}
}

// twilioWriteLoop sends what the party hears until the leg ends, then
// closes the socket.
func (c *conn) twilioWriteLoop(leg *TwilioLeg) {
	var msg, b64 []byte
	b64 = make([]byte, base64.StdEncoding.EncodedLen(twilioChunk))
	for {
		select {
		case fr := <-leg.out:
			switch {
			case fr.mark != "":
				msg = jsonMarshal(TwilioMessage{Event: "mark", StreamSid: leg.streamSid, Mark: &TwilioMark{Name: fr.mark}})
			case fr.clear:
				msg = jsonMarshal(TwilioMessage{Event: "clear", StreamSid: leg.streamSid})
			default:
				n := base64.StdEncoding.EncodedLen(fr.n)
				base64.StdEncoding.Encode(b64[:n], fr.buf[:fr.n])
				msg = appendTwilioMedia(msg[:0], leg.streamSid, 0, 0, 0, b64[:n])
			}
			if c.write(websocket.TextMessage, msg) != nil {
				_ = leg.Close(errTwilioLost)
				_ = c.ws.Close()
				return
			}
		case <-leg.done:
			c.closeWith(websocket.CloseNormalClosure, "call ended")
			return
		}
	}
}

func twilioCause(err error) string {
	var ended *session.EndedError
	switch {
	case errors.Is(err, errTwilioStop):
		return "remote_stop"
	case errors.As(err, &ended):
		return "session_ended"
	case errors.Is(err, session.ErrHangup):
		return "api_hangup"
	}
	return "connection_lost"
}
