package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/zap"

	"github.com/voxgate/voxgate/session"
)

// ErrBotUnreachable means the bot's WebSocket could not be opened: refused,
// unreachable, or no answer within the handshake timeout.
var ErrBotUnreachable = errors.New("stream: bot unreachable")

// errBotDropped means the bot's connection ended while the session lives.
var errBotDropped = errors.New("stream: bot connection dropped")

// RunBot connects a session to its bot (SPEC §4.3) and carries the
// conversation until the bot drops or the session ends. The bot is a
// subscriber that speaks as the agent, over the voxgate protocol with the
// server's role (the gateway sends session.ready, audio.output and events)
// or over Twilio Media Streams as Twilio would. connected is called once the
// bot has answered. RunBot returns session.ErrEnded when the session ended,
// an error wrapping ErrBotUnreachable when the bot did not answer, and
// another error when it dropped.
func (h *Handler) RunBot(ctx context.Context, t session.BotTarget, connected func()) error {
	header := http.Header{}
	if t.AuthToken != "" {
		header.Set("Authorization", "Bearer "+t.AuthToken)
	}
	d := websocket.Dialer{HandshakeTimeout: h.cfg.BotHandshakeTimeout, ReadBufferSize: 4096, WriteBufferSize: 4096}
	ws, res, err := d.DialContext(ctx, t.URL, header)
	if err != nil {
		if res != nil {
			return fmt.Errorf("%w: %s answered %s", ErrBotUnreachable, t.URL, res.Status)
		}
		return fmt.Errorf("%w: %v", ErrBotUnreachable, err)
	}
	connected()
	stop := context.AfterFunc(ctx, func() { _ = ws.Close() })
	defer stop()
	h.connections.Add(1)
	log := h.log.WithLazy(zap.String("session_id", t.SessionID), zap.String("bot_url", t.URL), zap.String("protocol", t.Protocol))
	if t.Protocol == "twilio" {
		return h.runTwilioBot(ctx, ws, t, log)
	}
	c := newConn(h, ws)
	c.log, c.out, c.speaker = log, audioFormat{"mulaw", 8000}, session.SpeakerAgent
	err = c.run(ctx, t.SessionID, t.Scope, nil)
	switch {
	case errors.Is(err, session.ErrEnded), c.sub != nil && errors.Is(c.sub.Err(), session.ErrEnded):
		return session.ErrEnded
	case err != nil:
		return err
	}
	return errBotDropped
}

// twilioBot is the gateway acting as Twilio toward a bot: the customer's
// audio goes out as media, the bot's media is played as the agent.
type twilioBot struct {
	h   *Handler
	ws  *websocket.Conn
	sub *session.Subscription
	log *zap.Logger

	streamSid, callSid, accountSid string
	seq                            uint64 // the last sequenceNumber sent
	enc                            *encoder
	msg                            []byte
	writeBy                        deadline // writer only
}

func (h *Handler) runTwilioBot(ctx context.Context, ws *websocket.Conn, t session.BotTarget, log *zap.Logger) error {
	defer ws.Close()
	sub, err := h.sessions.Subscribe(ctx, t.SessionID, session.SubscribeOptions{
		Tracks: []session.Track{session.Original}, Narrowband: true, AudioQueue: h.cfg.AudioQueue, EventQueue: h.cfg.EventQueue,
	})
	if err != nil {
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		if errors.Is(err, session.ErrEnded) {
			return session.ErrEnded
		}
		return err
	}
	defer sub.Close()
	b := &twilioBot{h: h, ws: ws, sub: sub, log: log, enc: newEncoder(audioFormat{"mulaw", 8000}),
		writeBy:   deadline{set: ws.SetWriteDeadline, timeout: h.cfg.WriteTimeout},
		streamSid: twilioSid("MZ", ""), callSid: twilioSid("CA", t.SessionID), accountSid: twilioSid("AC", t.Scope.OrgID)}
	if err := b.begin(t.Metadata); err != nil {
		return errBotDropped
	}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		b.readLoop()
	}()
	err = b.writeLoop(readDone)
	if errors.Is(err, session.ErrEnded) { // stop and a close frame went out
		closeAfterPeer(ws, readDone)
	}
	_ = ws.Close()
	<-readDone
	return err
}

// begin sends connected and start.
func (b *twilioBot) begin(metadata json.RawMessage) error {
	if err := b.send(TwilioMessage{Event: "connected", Protocol: "Call", Version: "1.0.0"}); err != nil {
		return err
	}
	b.seq++
	return b.send(TwilioMessage{Event: "start", SequenceNumber: "1", StreamSid: b.streamSid, Start: &TwilioStart{
		StreamSid: b.streamSid, AccountSid: b.accountSid, CallSid: b.callSid, Tracks: []string{"inbound"},
		CustomParameters: customParameters(metadata), MediaFormat: twilioFormat,
	}})
}

// customParameters turns session metadata into Twilio's string parameters:
// strings as they are, other values as JSON.
func customParameters(metadata json.RawMessage) map[string]string {
	out := map[string]string{}
	var obj map[string]json.RawMessage
	if json.Unmarshal(metadata, &obj) != nil {
		return out
	}
	for k, v := range obj {
		var s string
		if json.Unmarshal(v, &s) == nil {
			out[k] = s
		} else {
			out[k] = string(v)
		}
	}
	return out
}

func (b *twilioBot) send(m TwilioMessage) error {
	raw, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return b.write(raw)
}

func (b *twilioBot) write(raw []byte) error {
	b.writeBy.extend()
	if err := b.ws.WriteMessage(websocket.TextMessage, raw); err != nil {
		return err
	}
	b.h.messagesOut.Add(1)
	return nil
}

// next is the sequenceNumber of the next message.
func (b *twilioBot) next() string {
	b.seq++
	return fmt.Sprint(b.seq)
}

// writeLoop sends the customer's audio and the events a bot is told of
// (mark echoes, dtmf, stop at the session's end) until either side ends.
func (b *twilioBot) writeLoop(readDone <-chan struct{}) error {
	ping := time.NewTicker(b.h.cfg.PingInterval)
	defer ping.Stop()
	var (
		frame session.AudioFrame
		chunk uint64
	)
	for {
		select {
		case <-b.sub.EventReady():
			if ended, err := b.events(); ended || err != nil {
				return endOr(ended, err)
			}
		case <-b.sub.AudioReady():
			for b.sub.NextAudio(&frame) {
				if frame.Speaker != session.SpeakerCustomer {
					continue
				}
				chunk++
				raw := b.enc.encode(&frame)
				b.seq++
				b.msg = appendTwilioMedia(b.msg[:0], b.streamSid, b.seq, chunk, int64(chunk-1)*20, b.enc.base64(raw))
				if err := b.write(b.msg); err != nil {
					return errBotDropped
				}
			}
		case <-ping.C:
			if b.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(b.h.cfg.WriteTimeout)) != nil {
				return errBotDropped
			}
		case <-b.sub.Done():
			if ended, err := b.events(); ended || err != nil {
				return endOr(ended, err)
			}
			return errBotDropped // dropped as a slow consumer
		case <-readDone:
			return errBotDropped
		}
	}
}

func endOr(ended bool, err error) error {
	if ended {
		return session.ErrEnded
	}
	return errBotDropped
}

// events tells the bot of the session events waiting, in order, until one
// ends the stream or a write fails.
func (b *twilioBot) events() (ended bool, err error) {
	for {
		ev, ok := b.sub.NextEvent()
		if !ok {
			return false, nil
		}
		if ended, err := b.event(ev); ended || err != nil {
			return ended, err
		}
	}
}

// event tells the bot of one session event; ended is true after stop.
func (b *twilioBot) event(ev session.Event) (ended bool, err error) {
	switch ev.Type {
	case "mark":
		return false, b.send(TwilioMessage{Event: "mark", SequenceNumber: b.next(), StreamSid: b.streamSid, Mark: &TwilioMark{Name: ev.Name}})
	case "dtmf.received":
		var d struct {
			Digit string `json:"digit"`
		}
		if json.Unmarshal(ev.Data, &d) != nil || d.Digit == "" {
			return false, nil
		}
		return false, b.send(TwilioMessage{Event: "dtmf", SequenceNumber: b.next(), StreamSid: b.streamSid,
			DTMF: &TwilioDTMF{Track: "inbound_track", Digit: d.Digit}})
	case session.EventSessionEnded:
		_ = b.send(TwilioMessage{Event: "stop", SequenceNumber: b.next(), StreamSid: b.streamSid,
			Stop: &TwilioStop{AccountSid: b.accountSid, CallSid: b.callSid}})
		msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "call ended")
		_ = b.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		return true, nil
	}
	return false, nil
}

// play queues the bot's μ-law as the agent's speech.
func (b *twilioBot) play(dec *decoder, payload []byte) {
	pcm, _, _ := dec.decode(session.SpeakerAgent, audioFormat{"mulaw", 8000}, payload)
	if err := b.sub.InputNarrow(session.SpeakerAgent, pcm); errors.Is(err, session.ErrPlayoutQueueFull) {
		b.h.botOverflows.Add(1) // more than the playout limit ahead: dropped
	}
}

// readLoop plays the bot's media as the agent and honours its marks and
// clears. Anything else, or garbage, is counted and skipped.
func (b *twilioBot) readLoop() {
	readBy := deadline{set: b.ws.SetReadDeadline, timeout: 3 * b.h.cfg.PingInterval}
	b.ws.SetReadLimit(b.h.cfg.ReadLimit)
	b.ws.SetPongHandler(func(string) error { readBy.extend(); return nil })
	dec := newDecoder()
	var md mediaDecoder
	for {
		readBy.extend()
		kind, raw, err := b.ws.ReadMessage()
		if err != nil {
			return
		}
		b.h.messagesIn.Add(1)
		if kind != websocket.TextMessage {
			b.h.invalid.Add(1)
			continue
		}
		if payload, ok := md.decode(raw); ok {
			b.play(dec, payload)
			continue
		}
		m, payload, err := DecodeTwilio(raw)
		if err != nil {
			b.h.invalid.Add(1)
			continue
		}
		switch m.Event {
		case "media":
			b.play(dec, payload)
		case "mark":
			b.sub.Mark(m.Mark.Name)
		case "clear":
			b.sub.Clear()
		}
	}
}
