package stream_test

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/voxgate/voxgate/api"
	"github.com/voxgate/voxgate/media/mediatest"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/store"
	"github.com/voxgate/voxgate/store/storetest"
	"github.com/voxgate/voxgate/stream"
	"github.com/voxgate/voxgate/transcode/g711"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// gateway is the real API with the stream mounted, over SQLite, on loopback.
type gateway struct {
	t     testing.TB
	m     *session.Manager
	h     *stream.Handler
	st    *store.Store
	srv   *httptest.Server
	sc    store.Scope
	clock atomic.Int64 // store clock offset in ns
	order atomic.Int64 // counts messages received by all clients
}

func newGateway(t testing.TB, cfg stream.Config) *gateway {
	g := &gateway{t: t, sc: store.Scope{OrgID: "org_stream", Livemode: true}}
	g.st = storetest.OpenConfig(t, store.Config{DataDir: t.TempDir()})
	g.st.SetClock(func() time.Time { return time.Now().Add(time.Duration(g.clock.Load())) })
	var err error
	g.m, err = session.NewManager(session.Config{PublicURL: "http://127.0.0.1:8080", SIPHost: "127.0.0.1", MaxConcurrentSessions: 2000}, g.st, nil)
	if err != nil {
		t.Fatal(err)
	}
	g.h = stream.NewHandler(cfg, g.m, nil)
	srv, err := api.New(api.Options{Store: g.st, Sessions: g.m, Registry: prometheus.NewRegistry(), Connect: g.h})
	if err != nil {
		t.Fatal(err)
	}
	g.srv = httptest.NewServer(srv)
	t.Cleanup(g.srv.Close)
	return g
}

// session creates a session and returns its ID and stream token.
func (g *gateway) session() (string, string) {
	s, err := g.m.Create(context.Background(), g.sc, session.CreateParams{Mode: "media_stream"})
	if err != nil {
		g.t.Fatal(err)
	}
	g.t.Cleanup(func() { _, _ = g.m.End(context.Background(), g.sc, s.ID, session.EndExplicit) })
	return s.ID, s.Stream.Token
}

// client is a WebSocket client of /connect.
type client struct {
	t    testing.TB
	ws   *websocket.Conn
	msgs chan message
	done chan struct{}
	err  error // why reading stopped (a *websocket.CloseError at the end)
}

type message struct {
	kind int
	raw  []byte
	m    map[string]any
	// order is the message's rank among those every client of the gateway
	// has received so far.
	order int64
}

// dialRaw connects a bare WebSocket client, closed at the end of the test.
func (g *gateway) dialRaw(sid, token, query string) *websocket.Conn {
	g.t.Helper()
	u := strings.Replace(g.srv.URL, "http://", "ws://", 1) + "/v1/sessions/" + sid + "/connect?token=" + token + query
	ws, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		g.t.Fatal(err)
	}
	g.t.Cleanup(func() { ws.Close() })
	return ws
}

func (g *gateway) dial(sid, token, query string) *client {
	g.t.Helper()
	ws := g.dialRaw(sid, token, query)
	c := &client{t: g.t, ws: ws, msgs: make(chan message, 10000), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			kind, raw, err := ws.ReadMessage()
			if err != nil {
				c.err = err
				return
			}
			msg := message{kind: kind, raw: raw, order: g.order.Add(1)}
			if kind == websocket.TextMessage {
				_ = json.Unmarshal(raw, &msg.m)
			}
			select {
			case c.msgs <- msg:
			default: // the test does not read this client
			}
		}
	}()
	g.t.Cleanup(func() { ws.Close(); <-c.done })
	return c
}

func (c *client) send(v any) {
	c.t.Helper()
	b, _ := json.Marshal(v)
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		c.t.Fatal(err)
	}
}

// next returns the next message of the type (skipping others).
func (c *client) next(typ string) message {
	c.t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select { // what arrived before the stream closed comes first
		case m := <-c.msgs:
			if m.m["type"] == typ {
				return m
			}
			continue
		default:
		}
		select {
		case m := <-c.msgs:
			if m.m["type"] == typ {
				return m
			}
		case <-c.done:
			c.t.Fatalf("stream closed waiting for %s: %v", typ, c.err)
		case <-deadline:
			c.t.Fatalf("no %s", typ)
		}
	}
}

// closeCode waits for the stream to close and returns its code.
func (c *client) closeCode() int {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(15 * time.Second):
		c.t.Fatal("stream did not close")
	}
	var ce *websocket.CloseError
	if errors.As(c.err, &ce) {
		return ce.Code
	}
	return -1
}

func mulawInput(seq int, speaker string, pcm8k []int16) map[string]any {
	b := make([]byte, len(pcm8k))
	g711.PCMU.Encode(pcm8k, b)
	return map[string]any{"type": "audio.input", "sequence": seq, "timestamp_ms": seq * 100, "speaker": speaker,
		"audio": map[string]any{"encoding": "mulaw", "sample_rate_hz": 8000, "payload": base64.StdEncoding.EncodeToString(b)}}
}

func pcmOf(t testing.TB, m message) []int16 {
	audio := m.m["audio"].(map[string]any)
	b, err := base64.StdEncoding.DecodeString(audio["payload"].(string))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int16, len(b)/2)
	for i := range out {
		out[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return out
}

func TestTwoClientsToneMarksAndClear(t *testing.T) {
	g := newGateway(t, stream.Config{})
	sid, token := g.session()
	a := g.dial(sid, token, "")
	b := g.dial(sid, token, "&audio=pcm16_16000")
	for _, c := range []*client{a, b} {
		ready := c.next("session.ready")
		if ready.m["session_id"] != sid || ready.m["mode"] != "media_stream" || len(ready.m["calls"].([]any)) != 0 {
			t.Fatalf("session.ready: %s", ready.raw)
		}
	}
	// A speaks 1 s of 1 kHz as the customer in 100 ms chunks, then a mark.
	sine := mediatest.NewSine(8000, 1000, -10)
	for i := range 10 {
		a.send(mulawInput(i, "customer", sine.Samples(800)))
	}
	a.send(map[string]any{"type": "mark", "name": "after-1s"})
	var pcm []int16
	var frameOrder []int64
	for i := range 50 {
		m := b.next("audio.output")
		frameOrder = append(frameOrder, m.order)
		if m.m["speaker"] != "customer" || m.m["track"] != "original" || m.m["timestamp_ms"] != float64(20*i) || m.m["sequence"] != float64(i) {
			t.Fatalf("frame %d: %s", i, m.raw)
		}
		if m.m["audio"].(map[string]any)["sample_rate_hz"] != 16000.0 {
			t.Fatalf("rate: %s", m.raw)
		}
		pcm = append(pcm, pcmOf(t, m)...)
	}
	mediatest.CheckTone(t, pcm[1600:], 16000, mediatest.ToneWant{Freq: 1000, Level: -10, MinSNR: 30})
	mark := a.next("mark")
	if mark.m["name"] != "after-1s" {
		t.Fatalf("mark: %s", mark.raw)
	}
	// The mark waited for the audio: B had most of it first (the last frames
	// and the mark leave on the same tick, on two connections).
	if mark.order < frameOrder[45] {
		t.Fatalf("the mark came back before B had 46 of the 50 frames queued before it")
	}
	// A never hears itself.
	for len(a.msgs) > 0 {
		if m := <-a.msgs; m.m["type"] == "audio.output" {
			t.Fatalf("A got its own audio: %s", m.raw)
		}
	}
	// 10 s queued, a mark, then a clear: the mark comes back at once.
	for i := range 100 {
		a.send(mulawInput(100+i, "customer", sine.Samples(800)))
	}
	a.send(map[string]any{"type": "mark", "name": "cleared"})
	a.send(map[string]any{"type": "audio.clear"})
	if m := a.next("mark"); m.m["name"] != "cleared" {
		t.Fatalf("mark: %s", m.raw)
	}
	if got := g.m.Metrics(); got.Subscribers != 2 {
		t.Fatalf("metrics: %+v", got)
	}
	a.send(map[string]any{"type": "ping"})
	if p := a.next("pong"); p.m["session_id"] != sid {
		t.Fatalf("pong: %s", p.raw)
	}
}

// TestMulawPassesThrough: μ-law from one 8 kHz client reaches the other
// 8 kHz clients sample for sample, as μ-law and as 8 kHz PCM (the session
// keeps 8 kHz audio in its narrow band), while a 16 kHz client in the same
// session hears it resampled.
func TestMulawPassesThrough(t *testing.T) {
	g := newGateway(t, stream.Config{})
	sid, token := g.session()
	a, b, wide := g.dial(sid, token, ""), g.dial(sid, token, ""), g.dial(sid, token, "&audio=pcm16_16000")
	linear := g.dial(sid, token, "&audio=pcm16_8000")
	for _, c := range []*client{a, b, wide, linear} {
		c.next("session.ready")
	}
	said := mediatest.Tone(8000, 1000, -10, 8000)
	for i := range 10 {
		a.send(mulawInput(i, "customer", said[800*i:800*(i+1)]))
	}
	sent := make([]byte, len(said))
	g711.PCMU.Encode(said, sent)
	want := make([]int16, len(sent))
	g711.PCMU.Decode(sent, want)
	var got, wideband, linearPCM []int16
	for range 50 {
		m := b.next("audio.output")
		payload, err := base64.StdEncoding.DecodeString(m.m["audio"].(map[string]any)["payload"].(string))
		if err != nil {
			t.Fatal(err)
		}
		pcm := make([]int16, len(payload))
		g711.PCMU.Decode(payload, pcm)
		got = append(got, pcm...)
		wideband = append(wideband, pcmOf(t, wide.next("audio.output"))...)
		linearPCM = append(linearPCM, pcmOf(t, linear.next("audio.output"))...)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("the μ-law client's audio reached the other changed")
	}
	if !slices.Equal(linearPCM, want) {
		t.Fatalf("the μ-law client's audio reached the pcm16_8000 client changed (%d samples)", len(linearPCM))
	}
	mediatest.CheckTone(t, wideband[1600:], 16000, mediatest.ToneWant{Freq: 1000, Level: -10, MinSNR: 30})
}

func TestBinaryAudio(t *testing.T) {
	g := newGateway(t, stream.Config{})
	sid, token := g.session()
	a := g.dial(sid, token, "&binary=1&audio=pcm16_16000")
	b := g.dial(sid, token, "&binary=1&tracks=original")
	a.next("session.ready")
	b.next("session.ready")
	pcm := mediatest.Tone(16000, 700, -12, 3200)
	frame := []byte{1, 0} // agent, original
	for _, v := range pcm {
		frame = binary.LittleEndian.AppendUint16(frame, uint16(v))
	}
	if err := a.ws.WriteMessage(websocket.BinaryMessage, frame); err != nil {
		t.Fatal(err)
	}
	var heard []int16
	deadline := time.After(10 * time.Second)
	for len(heard) < 8*160 {
		select {
		case m := <-b.msgs:
			if m.kind != websocket.BinaryMessage {
				continue
			}
			if m.raw[0] != 1 || m.raw[1] != 0 || len(m.raw) != 2+160 {
				t.Fatalf("binary frame header %v, %d bytes", m.raw[:2], len(m.raw))
			}
			dec := make([]int16, 160)
			g711.PCMU.Decode(m.raw[2:], dec)
			heard = append(heard, dec...)
		case <-deadline:
			t.Fatalf("heard %d samples", len(heard))
		}
	}
	mediatest.CheckTone(t, heard[320:], 8000, mediatest.ToneWant{Freq: 700, Level: -12, LevelTol: 1.5, MinSNR: 25})
}

func TestEndingAndCloseCodes(t *testing.T) {
	g := newGateway(t, stream.Config{})
	sid, token := g.session()
	a := g.dial(sid, token, "")
	b := g.dial(sid, token, "&audio=none")
	a.next("session.ready")
	b.next("session.ready")
	a.send(map[string]any{"type": "session.end"})
	for _, c := range []*client{a, b} {
		ended := c.next("session.ended")
		if ended.m["reason"] != "explicit_end" || ended.m["data"].(map[string]any)["id"] != sid {
			t.Fatalf("session.ended: %s", ended.raw)
		}
		if code := c.closeCode(); code != websocket.CloseNormalClosure {
			t.Fatalf("close %d", code)
		}
	}
	if code := g.dial(sid, token, "").closeCode(); code != stream.CloseSessionEnded {
		t.Fatalf("after end: %d", code)
	}
	if code := g.dial("sess_01JD3ZZZZZZZZZZZZZZZZZZZZZ", token, "").closeCode(); code != stream.CloseNoSession {
		t.Fatalf("unknown session: %d", code)
	}
	sid2, token2 := g.session()
	if code := g.dial(sid2, token, "").closeCode(); code != stream.CloseInvalidToken {
		t.Fatalf("another session's token: %d", code)
	}
	if code := g.dial(sid2, "kst_live_nope", "").closeCode(); code != stream.CloseInvalidToken {
		t.Fatalf("wrong token: %d", code)
	}
	if code := g.dial(sid2, token2, "&audio=flac").closeCode(); code != stream.CloseBadQuery {
		t.Fatalf("bad audio option: %d", code)
	}
	// Options are checked after the session and the token.
	if code := g.dial("sess_01JD3ZZZZZZZZZZZZZZZZZZZZZ", token2, "&audio=flac").closeCode(); code != stream.CloseNoSession {
		t.Fatalf("unknown session, bad option: %d", code)
	}
	if code := g.dial(sid2, "kst_live_nope", "&tracks=karaoke").closeCode(); code != stream.CloseInvalidToken {
		t.Fatalf("wrong token, bad option: %d", code)
	}
	// An open stream outlives its token; a new connection with it fails.
	open := g.dial(sid2, token2, "")
	open.next("session.ready")
	g.clock.Store(int64(6 * time.Minute))
	if code := g.dial(sid2, token2, "").closeCode(); code != stream.CloseInvalidToken {
		t.Fatalf("expired token: %d", code)
	}
	open.send(map[string]any{"type": "ping"})
	open.next("pong")
}

func TestBadInputKeepsTheStreamOpen(t *testing.T) {
	g := newGateway(t, stream.Config{})
	sid, token := g.session()
	other, otherToken := g.session()
	c := g.dial(sid, token, "")
	bystander := g.dial(other, otherToken, "")
	otherSpeaker := g.dial(other, otherToken, "&audio=none")
	c.next("session.ready")
	bystander.next("session.ready")
	for _, tc := range []struct {
		raw  string
		code string
	}{
		{`{"sequence":1}`, "invalid_message"},
		{`not json`, "invalid_message"},
		{`{"type":"karaoke"}`, "invalid_message"},
		{`{"type":"mark"}`, "invalid_message"},
		{`{"type":"audio.input","speaker":"customer","audio":{"encoding":"mulaw","sample_rate_hz":8000,"payload":"!!!"}}`, "invalid_audio_format"},
		{`{"type":"audio.input","speaker":"customer","audio":{"encoding":"pcm16","sample_rate_hz":44100,"payload":"AAAA"}}`, "invalid_audio_format"},
		{`{"type":"audio.input","speaker":"nobody","audio":{"encoding":"mulaw","sample_rate_hz":8000,"payload":"AAAA"}}`, "invalid_audio_format"},
		{`{"type":"audio.input","speaker":"agent","audio":{"encoding":"pcm16","sample_rate_hz":16000,"payload":"AA=="}}`, "invalid_audio_format"},
		{`{"type":"dtmf.send","digits":"12"}`, "no_call_leg"},
	} {
		if err := c.ws.WriteMessage(websocket.TextMessage, []byte(tc.raw)); err != nil {
			t.Fatal(err)
		}
		if e := c.next("session.error"); e.m["code"] != tc.code {
			t.Fatalf("%s: %s", tc.raw, e.raw)
		}
	}
	if err := c.ws.WriteMessage(websocket.BinaryMessage, []byte{0xde, 0xad, 0xbe, 0xef}); err != nil {
		t.Fatal(err)
	}
	if e := c.next("session.error"); e.m["code"] != "invalid_message" {
		t.Fatalf("binary garbage: %s", e.raw)
	}
	c.send(map[string]any{"type": "ping"})
	c.next("pong")
	// A 10 MB frame closes with 1009; the other session's client is fine.
	_ = c.ws.WriteMessage(websocket.TextMessage, make([]byte, 10<<20))
	if code := c.closeCode(); code != websocket.CloseMessageTooBig {
		t.Fatalf("10 MB frame: close %d", code)
	}
	bystander.send(map[string]any{"type": "ping"})
	bystander.next("pong")
	otherSpeaker.send(mulawInput(0, "agent", mediatest.NewSine(8000, 440, -10).Samples(800)))
	if m := bystander.next("audio.output"); m.m["speaker"] != "agent" {
		t.Fatalf("other session: %s", m.raw)
	}
}

func TestStalledClientIsDroppedReaderKeepsEveryFrame(t *testing.T) {
	// The write timeout outlasts the test: the stalled client's writer waits
	// until the client reads again, and then sends it the 4008 close.
	g := newGateway(t, stream.Config{EventQueue: 8, AudioQueue: 50, WriteTimeout: time.Minute})
	sid, token := g.session()
	// The stalled client reads nothing and floods marks, whose echoes pile up.
	u := strings.Replace(g.srv.URL, "http://", "ws://", 1) + "/v1/sessions/" + sid + "/connect?token=" + token
	stalled := dialSmallBuffers(t, u)
	reader := g.dial(sid, token, "&audio=pcm16_16000")
	speaker := g.dial(sid, token, "&audio=none")
	reader.next("session.ready")
	go func() {
		mark := []byte(`{"type":"mark","name":"` + strings.Repeat("m", 200) + `"}`)
		for range 200000 {
			if stalled.WriteMessage(websocket.TextMessage, mark) != nil {
				return
			}
		}
	}()
	// Meanwhile the reader gets every frame of 2 s of audio, in order.
	sine := mediatest.NewSine(8000, 440, -10)
	for i := range 20 {
		speaker.send(mulawInput(i, "customer", sine.Samples(800)))
	}
	for i := range 100 {
		m := reader.next("audio.output")
		if m.m["sequence"] != float64(i) {
			t.Fatalf("frame %d has sequence %v", i, m.m["sequence"])
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for g.m.Metrics().SlowConsumers == 0 || g.m.Metrics().Subscribers != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the stalled client was not dropped: %+v", g.m.Metrics())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Once it reads again, what was in flight arrives, then close 4008.
	_ = stalled.SetReadDeadline(time.Now().Add(15 * time.Second))
	for {
		if _, _, err := stalled.ReadMessage(); err != nil {
			if !websocket.IsCloseError(err, stream.CloseSlowConsumer) {
				t.Fatalf("stalled client: %v", err)
			}
			break
		}
	}
}

func TestStreamCORSOrigin(t *testing.T) {
	g := newGateway(t, stream.Config{AllowOrigin: func(o string) bool { return o == "https://ok.example" }})
	sid, token := g.session()
	u := strings.Replace(g.srv.URL, "http://", "ws://", 1) + "/v1/sessions/" + sid + "/connect?token=" + token
	if _, res, err := websocket.DefaultDialer.Dial(u, http.Header{"Origin": {"https://evil.example"}}); err == nil || res.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign origin: %v", err)
	}
	pre, err := http.NewRequest(http.MethodOptions, g.srv.URL+"/v1/sessions/"+sid+"/connect", nil)
	if err != nil {
		t.Fatal(err)
	}
	pre.Header.Set("Origin", "https://ok.example")
	pre.Header.Set("Access-Control-Request-Method", "GET")
	res, err := http.DefaultClient.Do(pre)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent || res.Header.Get("Access-Control-Allow-Origin") != "https://ok.example" {
		t.Fatalf("preflight: %d %v", res.StatusCode, res.Header)
	}
	ws, res, err := websocket.DefaultDialer.Dial(u, http.Header{"Origin": {"https://ok.example"}})
	if err != nil {
		t.Fatal(err)
	}
	ws.Close()
	if id := res.Header.Get("X-Request-ID"); !strings.HasPrefix(id, "req_") {
		t.Fatalf("the upgrade has no request ID: %v", res.Header)
	}
}

// A client still sending audio when its session ends can read session.ended
// and the close frame before its connection goes: the gateway reads on until
// the client answers its close frame (RFC 6455 §7.1.1) instead of closing the
// socket under the client's writes, which fail then, and a client (like many
// bots) that stops at a failed write never reads the last words waiting.
func TestSessionEndedReachesAClientStillSending(t *testing.T) {
	g := newGateway(t, stream.Config{})
	sid, token := g.session()
	ws := g.dialRaw(sid, token, "")
	if _, raw, err := ws.ReadMessage(); err != nil || !strings.Contains(string(raw), "session.ready") {
		t.Fatalf("first message %s, %v", raw, err)
	}
	frame, _ := json.Marshal(mulawInput(0, "agent", make([]int16, 160)))
	stop, sent := make(chan struct{}), make(chan struct{})
	var writeErr error
	go func() { // 4 frames every 20 ms, without reading a thing
		defer close(sent)
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if writeErr = ws.WriteMessage(websocket.TextMessage, frame); writeErr != nil {
				return
			}
		}
	}()
	time.Sleep(200 * time.Millisecond)
	if _, err := g.m.End(context.Background(), g.sc, sid, session.EndExplicit); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the gateway has sent its last words by now
	close(stop)
	<-sent
	if writeErr != nil {
		t.Fatalf("the client's writes failed before it read the end: %v", writeErr)
	}
	var types []string
	for {
		_, raw, err := ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.CloseNormalClosure || !slices.Contains(types, "session.ended") {
				t.Fatalf("the stream ended with %v after %q", err, types)
			}
			return
		}
		var m struct{ Type string }
		_ = json.Unmarshal(raw, &m)
		types = append(types, m.Type)
	}
}
