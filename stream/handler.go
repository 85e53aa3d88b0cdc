// Package stream serves the /connect WebSocket of a session (SPEC §4.1): a
// client receives the session's events in order and each source's audio,
// and may speak for a side, queue marks, clear, send DTMF and end the
// session. It is the only package that imports gorilla/websocket.
package stream

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/zap"

	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/store"
)

// Config tunes the stream. Zero values take the defaults on each field.
type Config struct {
	// ReadLimit caps one client message (close 1009 beyond). Default 1 MiB.
	ReadLimit int64
	// WriteTimeout bounds one write to a client; a client that stalls past
	// it is dropped. Default 10s.
	WriteTimeout time.Duration
	// PingInterval is how often the server pings; a client silent for three
	// intervals is dropped. Default 20s.
	PingInterval time.Duration
	// AudioQueue and EventQueue size each client's queues (see
	// session.SubscribeOptions).
	AudioQueue, EventQueue int
	// AllowOrigin says whether a browser origin may connect (nil: any).
	AllowOrigin func(origin string) bool
	// TwilioStartTimeout is how long a connection without a query token
	// has to send Twilio's connected and start (close 4001 after). Default 5s.
	TwilioStartTimeout time.Duration
	// BotHandshakeTimeout bounds the opening of a bot's WebSocket. Default 5s.
	BotHandshakeTimeout time.Duration
}

func (c *Config) setDefaults() {
	if c.ReadLimit == 0 {
		c.ReadLimit = 1 << 20
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.PingInterval == 0 {
		c.PingInterval = 20 * time.Second
	}
	if c.TwilioStartTimeout == 0 {
		c.TwilioStartTimeout = 5 * time.Second
	}
	if c.BotHandshakeTimeout == 0 {
		c.BotHandshakeTimeout = 5 * time.Second
	}
}

// Stats counts the stream's traffic.
type Stats struct {
	Connections, MessagesIn, MessagesOut, InvalidMessages uint64
	// ReplyOverflows counts clients closed (4008) for sending requests
	// faster than they read the answers.
	ReplyOverflows uint64
	// BotAudioDropped counts bot media dropped because the bot had more
	// than the playout limit queued ahead of real time.
	BotAudioDropped uint64
	// MaxQueuedAudio is the longest audio queue of an open client now, in
	// frames: it never exceeds Config.AudioQueue (memory per client is bounded).
	MaxQueuedAudio int
}

// Handler serves GET /v1/sessions/{id}/connect.
type Handler struct {
	cfg      Config
	sessions *session.Manager
	log      *zap.Logger
	upgrader websocket.Upgrader

	connections, messagesIn, messagesOut, invalid, replyOverflows, botOverflows atomic.Uint64

	mu   sync.Mutex
	open map[*session.Subscription]struct{} // subscriptions of open clients
}

// NewHandler returns the /connect handler over the session manager.
func NewHandler(cfg Config, m *session.Manager, log *zap.Logger) *Handler {
	cfg.setDefaults()
	if log == nil {
		log = zap.NewNop()
	}
	h := &Handler{cfg: cfg, sessions: m, log: log, open: map[*session.Subscription]struct{}{}}
	h.upgrader = websocket.Upgrader{
		// Buffers of its own, smaller than the 4 KiB ones net/http hijacks
		// it with (those go with the request, which returns): a message is
		// read in pieces of any size, and one larger than the write buffer
		// (a 20 ms frame of 16 kHz audio as JSON is ≈ 950 bytes) goes out
		// as several frames of one message.
		ReadBufferSize: 1024, WriteBufferSize: 2048,
		CheckOrigin: func(r *http.Request) bool {
			origin := r.Header.Get("Origin")
			return origin == "" || cfg.AllowOrigin == nil || cfg.AllowOrigin(origin)
		},
	}
	return h
}

// Stats returns the counters.
func (h *Handler) Stats() Stats {
	st := Stats{Connections: h.connections.Load(), MessagesIn: h.messagesIn.Load(),
		MessagesOut: h.messagesOut.Load(), InvalidMessages: h.invalid.Load(), ReplyOverflows: h.replyOverflows.Load(),
		BotAudioDropped: h.botOverflows.Load()}
	h.mu.Lock()
	defer h.mu.Unlock()
	for sub := range h.open {
		st.MaxQueuedAudio = max(st.MaxQueuedAudio, sub.QueuedAudio())
	}
	return st
}

// track adds an open client's subscription to Stats until untrack.
func (h *Handler) track(sub *session.Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.open[sub] = struct{}{}
}

func (h *Handler) untrack(sub *session.Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.open, sub)
}

// ServeHTTP upgrades the request and starts the stream, which runs on
// after it returns until the connection closes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The 101 answer carries the request ID that the API's middleware set.
	var header http.Header
	if id := w.Header().Get("X-Request-ID"); id != "" {
		header = http.Header{"X-Request-Id": {id}}
	}
	ws, err := h.upgrader.Upgrade(w, r, header)
	if err != nil {
		return // the upgrader has answered
	}
	h.connections.Add(1)
	newConn(h, ws).serve(r)
}

// newConn starts a client's stream on an upgraded connection.
func newConn(h *Handler, ws *websocket.Conn) *conn {
	return &conn{h: h, ws: ws, replies: make(chan []byte, 64), dec: newDecoder(), log: h.log,
		writeBy: deadline{set: ws.SetWriteDeadline, timeout: h.cfg.WriteTimeout}}
}

// conn is one client's stream: a reader goroutine and a writer goroutine.
type conn struct {
	h       *Handler
	ws      *websocket.Conn
	sub     *session.Subscription
	out     audioFormat
	binary  bool
	enc     *encoder
	dec     *decoder
	inputs  inputDecoder // the plain audio.input, parsed without allocating
	replies chan []byte  // messages for this client only (pong, errors)
	log     *zap.Logger

	closeOnce sync.Once
	readDone  <-chan struct{} // closed when the reader ends; nil before it starts
	slow      atomic.Bool
	ended     bool     // session.ended was sent (writer only)
	writeBy   deadline // writer only
	// speaker, when set, is the side all the client's audio speaks for
	// (a dialed bot speaks as the agent).
	speaker session.Speaker
}

// closeWith sends a close frame with the code and closes the connection
// once the peer has answered it (see closeAfterPeer).
func (c *conn) closeWith(code int, reason string) {
	c.closeOnce.Do(func() {
		msg := websocket.FormatCloseMessage(code, reason)
		_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		closeAfterPeer(c.ws, c.readDone)
	})
}

// closeGrace is how long a connection that sent its close frame waits for
// the peer's before it closes the socket.
const closeGrace = time.Second

// closeAfterPeer closes the socket of a connection whose close frame went
// out once its reader has ended (readDone; nil when none runs), that is
// once the peer answered with its own close frame (RFC 6455 §7.1.1), or
// after closeGrace. Closing at once would fail the peer's next writes (a
// reset, or a broken pipe), and a peer that gives up at a failed write, as
// many bots do, never reads the stop or session.ended waiting for it.
func closeAfterPeer(ws *websocket.Conn, readDone <-chan struct{}) {
	if readDone != nil {
		t := time.NewTimer(closeGrace)
		select {
		case <-readDone:
		case <-t.C:
		}
		t.Stop()
	}
	_ = ws.Close()
}

// serve checks a /connect request (the session, then the token, then the
// options) and starts the client's stream, or a Twilio <Stream>'s.
func (c *conn) serve(r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	sid := r.PathValue("id")
	c.log = c.h.log.WithLazy(zap.String("session_id", sid), zap.String("remote_addr", r.RemoteAddr))

	// Checked in this order (SPEC §4.1): session, ended, token.
	s, sc, err := c.h.sessions.Peek(ctx, sid)
	switch {
	case errors.Is(err, session.ErrNotFound):
		c.closeWith(CloseNoSession, "no such session")
		return
	case err != nil:
		c.log.Warn("session lookup failed", zap.Error(err))
		c.closeWith(websocket.CloseInternalServerErr, "internal error")
		return
	case s.Ended():
		c.closeWith(CloseSessionEnded, "session has ended")
		return
	}
	if !q.Has("token") {
		c.serveTwilio(ctx, sid) // Twilio cannot add a query token (SPEC §4.2)
		return
	}
	if err := c.h.sessions.CheckStreamToken(ctx, sid, q.Get("token")); err != nil {
		c.closeWith(CloseInvalidToken, "invalid or expired token")
		return
	}
	// Then the options (4000).
	if c.out, err = parseAudioOption(q.Get("audio")); err != nil {
		c.closeWith(CloseBadQuery, err.Error())
		return
	}
	c.binary = q.Get("binary") == "1"
	var tracks []session.Track
	if v := q.Get("tracks"); v != "" {
		for _, t := range strings.Split(v, ",") {
			tr := session.Track(strings.TrimSpace(t))
			if tr != session.Original && tr != session.Translated && tr != session.Synthesized {
				c.closeWith(CloseBadQuery, "tracks: use original, translated, synthesized")
				return
			}
			tracks = append(tracks, tr)
		}
	}
	// The stream goes on in goroutines of its own, and the request's returns:
	// its stack, grown by the set-up, and net/http's buffers and the
	// request are not kept for the life of the stream.
	if c.start(ctx, sid, sc, tracks) == nil {
		go c.stream()
	}
}

// run subscribes the client to the session and carries its messages both
// ways until the connection or the subscription ends. It returns why the
// client could not subscribe, if it could not.
func (c *conn) run(ctx context.Context, sid string, sc store.Scope, tracks []session.Track) error {
	if err := c.start(ctx, sid, sc, tracks); err != nil {
		return err
	}
	c.stream()
	return nil
}

// start subscribes the client to the session and sends it session.ready;
// stream carries on from there. It returns why the client could not
// subscribe, if it could not (the connection is then closed).
func (c *conn) start(ctx context.Context, sid string, sc store.Scope, tracks []session.Track) error {
	var err error
	c.sub, err = c.h.sessions.Subscribe(ctx, sid, c.out.subscribeOptions(session.SubscribeOptions{
		Tracks: tracks, AudioQueue: c.h.cfg.AudioQueue, EventQueue: c.h.cfg.EventQueue,
	}))
	switch {
	case errors.Is(err, session.ErrEnded):
		c.closeWith(CloseSessionEnded, "session has ended")
		return err
	case errors.Is(err, session.ErrTooManySubscribers):
		c.closeWith(CloseTooManyClients, "too many clients on this session")
		return err
	case err != nil:
		c.log.Warn("subscribe failed", zap.Error(err))
		c.closeWith(websocket.CloseInternalServerErr, "internal error")
		return err
	}
	if c.out.encoding != "none" {
		c.enc = newEncoder(c.out)
	}
	calls, _, err := c.h.sessions.ListCalls(ctx, sc, store.ListQuery{SessionID: sid, Limit: maxReadyCalls})
	if err != nil {
		c.log.Warn("listing calls failed", zap.Error(err))
		c.closeWith(websocket.CloseInternalServerErr, "internal error")
		c.sub.Close()
		return err
	}
	if err := c.write(websocket.TextMessage, c.ready(calls)); err != nil {
		c.closeWith(websocket.CloseGoingAway, "write failed")
		c.sub.Close()
		return err
	}
	return nil
}

// stream carries a started client's messages both ways, reading on a
// goroutine of its own and writing on the caller's, until the connection
// or the subscription ends.
func (c *conn) stream() {
	defer c.sub.Close()
	c.h.track(c.sub)
	defer c.h.untrack(c.sub)
	readDone := make(chan struct{})
	c.readDone = readDone
	go func() {
		defer close(readDone)
		c.readLoop()
	}()
	c.writeLoop(readDone)
	_ = c.ws.Close()
	<-readDone
}

// maxReadyCalls caps the calls listed in session.ready (the newest first).
const maxReadyCalls = 100

func (c *conn) ready(calls []session.Call) []byte {
	if calls == nil {
		calls = []session.Call{}
	}
	audio := map[string]any{"encoding": c.out.encoding, "sample_rate_hz": c.out.rate, "channels": 1}
	if c.out.encoding == "none" {
		audio = map[string]any{"encoding": "none"}
	}
	return jsonMarshal(map[string]any{
		"type": "session.ready", "session_id": c.sub.SessionID(), "mode": c.sub.Mode(), "audio": audio, "calls": calls,
	})
}

func (c *conn) write(kind int, b []byte) error {
	c.writeBy.extend()
	if err := c.ws.WriteMessage(kind, b); err != nil {
		return err
	}
	c.h.messagesOut.Add(1)
	return nil
}

// writeLoop is the one writer: events first, then this client's replies,
// then audio, with pings in between.
func (c *conn) writeLoop(readDone <-chan struct{}) {
	ping := time.NewTicker(c.h.cfg.PingInterval)
	defer ping.Stop()
	var (
		frame session.AudioFrame
		msg   []byte
	)
	for {
		if !c.writeEvents() {
			return
		}
		select {
		case <-c.sub.EventReady():
			if !c.writeEvents() {
				return
			}
		case b := <-c.replies:
			if c.write(websocket.TextMessage, b) != nil {
				return
			}
		case <-c.sub.AudioReady():
			for !c.ended && c.sub.NextAudio(&frame) {
				if c.enc == nil {
					continue
				}
				raw := c.enc.encode(&frame)
				var err error
				if c.binary {
					msg = append(append(msg[:0], speakerByte(frame.Speaker), trackByte(frame.Track)), raw...)
					err = c.write(websocket.BinaryMessage, msg)
				} else {
					msg = appendAudioOutput(msg[:0], &frame, c.out, c.enc.base64(raw))
					err = c.write(websocket.TextMessage, msg)
				}
				if err != nil || !c.writeEvents() {
					return
				}
			}
		case <-ping.C:
			if c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.h.cfg.WriteTimeout)) != nil {
				return
			}
		case <-c.sub.Done():
			c.finish()
			return
		case <-readDone:
			if c.slow.Load() {
				c.h.replyOverflows.Add(1)
				c.closeWith(CloseSlowConsumer, "too slow")
			}
			return
		}
	}
}

// writeEvents sends the events waiting now, without blocking for more; it
// is false when a write failed. Events go before any other message.
func (c *conn) writeEvents() bool {
	for {
		ev, ok := c.sub.NextEvent()
		if !ok {
			return true
		}
		if c.writeEvent(ev) != nil {
			return false
		}
	}
}

// writeEvent sends one event; after session.ended no audio follows.
func (c *conn) writeEvent(ev session.Event) error {
	c.ended = c.ended || ev.Type == session.EventSessionEnded
	return c.write(websocket.TextMessage, render(ev))
}

// finish sends what is left of the events and closes with the code that
// says why the subscription ended.
func (c *conn) finish() {
	if !c.writeEvents() {
		return
	}
	switch err := c.sub.Err(); {
	case errors.Is(err, session.ErrSlowConsumer):
		c.closeWith(CloseSlowConsumer, "too slow")
	case errors.Is(err, session.ErrEnded):
		c.closeWith(websocket.CloseNormalClosure, "session ended")
	default:
		c.closeWith(websocket.CloseNormalClosure, "")
	}
}

// readLoop reads the client's messages until the connection closes.
func (c *conn) readLoop() {
	readBy := deadline{set: c.ws.SetReadDeadline, timeout: 3 * c.h.cfg.PingInterval}
	c.ws.SetReadLimit(c.h.cfg.ReadLimit)
	readBy.extend()
	c.ws.SetPongHandler(func(string) error { readBy.extend(); return nil })
	for {
		kind, raw, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		readBy.extend()
		c.h.messagesIn.Add(1)
		if kind == websocket.BinaryMessage {
			c.binaryInput(raw)
		} else {
			c.handle(raw)
		}
		if c.slow.Load() {
			return
		}
	}
}

func (c *conn) handle(raw []byte) {
	if spk, in, payload, ok := c.inputs.decode(raw); ok { // the common audio.input, without allocating
		c.input(spk, in, payload)
		return
	}
	m, payload, err := DecodeMessage(raw)
	if err != nil {
		code := session.ErrCodeInvalidMessage
		if errors.Is(err, errBadAudio) {
			code = session.ErrCodeInvalidAudioFormat
		}
		c.reportError(code, err.Error())
		return
	}
	ctx := context.Background()
	switch m.Type {
	case "audio.input":
		in, _ := inputFormat(m.Audio.Encoding, m.Audio.SampleRateHz)
		spk := session.Speaker(m.Speaker)
		c.input(spk, in, payload)
	case "ping":
		c.reply(jsonMarshal(map[string]string{"type": "pong", "session_id": c.sub.SessionID()}))
	case "session.end":
		if err := c.sub.EndSession(ctx); err != nil {
			c.log.Warn("session.end failed", zap.Error(err))
		}
	case "audio.clear":
		c.sub.Clear()
	case "mark":
		c.sub.Mark(m.Name)
	case "dtmf.send":
		if err := c.sub.SendDTMF(m.Digits, m.CallID); err != nil {
			c.reportError("dtmf_failed", err.Error())
		}
	case "tool.result":
		if err := c.h.sessions.ToolResult(c.sub.SessionID(), m.ToolCallID, toolResult(m.Result)); err != nil {
			c.reportError("unknown_tool_call", "no tool call "+m.ToolCallID+" is waiting for a result")
		}
	}
}

func (c *conn) binaryInput(raw []byte) {
	if !c.binary || len(raw) < 2 {
		c.reportError(session.ErrCodeInvalidMessage, "binary frames need ?binary=1 and a 2-byte header (speaker, track)")
		return
	}
	spk, ok := byteSpeaker(raw[0])
	if !ok || raw[1] > 2 {
		c.reportError(session.ErrCodeInvalidMessage, "binary header: speaker 0 or 1, track 0, 1 or 2")
		return
	}
	in := c.out
	if in.encoding == "none" {
		in = audioFormat{"mulaw", 8000}
	}
	c.input(spk, in, raw[2:])
}

func (c *conn) input(spk session.Speaker, in audioFormat, payload []byte) {
	if c.speaker != "" { // a connection that speaks for one side only
		spk = c.speaker
	}
	pcm, narrow, err := c.dec.decode(spk, in, payload)
	if err != nil {
		c.reportError(session.ErrCodeInvalidAudioFormat, err.Error())
		return
	}
	if narrow {
		err = c.sub.InputNarrow(spk, pcm)
	} else {
		err = c.sub.Input(spk, pcm)
	}
	switch {
	case errors.Is(err, session.ErrPlayoutQueueFull):
		c.reportError(session.ErrCodePlayoutQueueFull, "more than the playout limit of audio is queued; wait for marks or send audio.clear")
	case errors.Is(err, session.ErrEnded): // session.ended is on its way
	case err != nil:
		c.reportError(session.ErrCodeInvalidAudioFormat, err.Error())
	}
}

func (c *conn) reportError(code, message string) {
	c.h.invalid.Add(1)
	c.reply(jsonMarshal(map[string]string{"type": "session.error", "code": code, "message": message}))
}

// reply queues a message for this client; a client that floods the server
// faster than it reads the answers is dropped as slow.
func (c *conn) reply(b []byte) {
	select {
	case c.replies <- b:
	default:
		c.slow.Store(true)
	}
}
