package stream_test

import (
	"context"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/voxgate/voxgate/media/mediatest"
	"github.com/voxgate/voxgate/stream"
)

// smallSendBuffers makes the gateway's side of each connection buffer little,
// so that a client that does not read stalls the writer soon.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	return c, err
}

// dialSmallBuffers connects a client with little receive buffering, for
// tests of clients that stop reading; it is closed at the end of the test.
func dialSmallBuffers(t *testing.T, wsURL string) *websocket.Conn {
	t.Helper()
	dialer := websocket.Dialer{NetDial: func(network, addr string) (net.Conn, error) {
		conn, err := net.Dial(network, addr)
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(4096)
		}
		return conn, err
	}, ReadBufferSize: 1024}
	ws, _, err := dialer.Dial(wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

// A client that never reads, nor sends, while audio and broadcast events
// flow: its audio queue fills to its bound and drops the oldest frames, the
// reader gets every frame and event in order, and the stalled client is
// closed with 4008 once its event queue overflows.
func TestNeverReadingClientStaysBounded(t *testing.T) {
	const audioQueue, eventQueue = 20, 8
	g := newGateway(t, stream.Config{AudioQueue: audioQueue, EventQueue: eventQueue, WriteTimeout: time.Minute})
	sid, token := g.session()
	small := httptest.NewUnstartedServer(g.srv.Config.Handler)
	small.Listener = smallSendBuffers{small.Listener}
	small.Start()
	defer small.Close()
	stalled := dialSmallBuffers(t, strings.Replace(small.URL, "http://", "ws://", 1)+"/v1/sessions/"+sid+"/connect?token="+token)
	reader := g.dial(sid, token, "&audio=pcm16_16000")
	speaker := g.dial(sid, token, "&audio=none")
	reader.next("session.ready")
	speaker.next("session.ready")

	// 4 s of audio: the stalled client's queue fills and stays at its bound.
	sine := mediatest.NewSine(8000, 440, -10)
	for i := range 40 {
		speaker.send(mulawInput(i, "customer", sine.Samples(800)))
	}
	full := false
	for i := range 200 {
		if m := reader.next("audio.output"); m.m["sequence"] != float64(i) {
			t.Fatalf("frame %d has sequence %v", i, m.m["sequence"])
		}
		q := g.h.Stats().MaxQueuedAudio
		if q > audioQueue {
			t.Fatalf("a client has %d frames queued, more than its %d", q, audioQueue)
		}
		full = full || q == audioQueue
	}
	if !full || g.m.Metrics().AudioDropped == 0 {
		t.Fatalf("the stalled client's queue never filled: %+v", g.m.Metrics())
	}

	// Broadcast events overflow its event queue: it is dropped; the reader
	// has every event in order.
	ctx := context.Background()
	digits := "0123456789"
	for i := 0; g.m.Metrics().SlowConsumers == 0; i++ {
		if i == 10*eventQueue {
			t.Fatalf("not dropped after %d events: %+v", i, g.m.Metrics())
		}
		if err := g.m.Emit(ctx, sid, "dtmf.received", map[string]string{"digit": digits[i%10 : i%10+1]}); err != nil {
			t.Fatal(err)
		}
		ev := reader.next("dtmf.received")
		if d := ev.m["data"].(map[string]any)["digit"]; d != digits[i%10:i%10+1] {
			t.Fatalf("event %d: %s", i, ev.raw)
		}
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

// A session takes at most its maximum of subscribers (32 by default); one
// more is closed with 4029.
func TestTooManySubscribers(t *testing.T) {
	g := newGateway(t, stream.Config{})
	sid, token := g.session()
	for range 32 {
		g.dial(sid, token, "&audio=none").next("session.ready")
	}
	if code := g.dial(sid, token, "&audio=none").closeCode(); code != stream.CloseTooManyClients {
		t.Fatalf("the 33rd subscriber: close %d", code)
	}
}

// The server pings: a client that answers (by reading) stays, one that
// never reads is dropped after three ping intervals without a pong.
func TestPingsDropASilentClient(t *testing.T) {
	g := newGateway(t, stream.Config{PingInterval: 50 * time.Millisecond})
	sid, token := g.session()
	alive := g.dial(sid, token, "&audio=none")
	alive.next("session.ready")
	silent := g.dialRaw(sid, token, "&audio=none")
	if _, _, err := silent.ReadMessage(); err != nil { // session.ready, then it never reads (nor answers a ping)
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for g.m.Metrics().Subscribers != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the silent client is still there: %+v", g.m.Metrics())
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // six ping intervals
	alive.send(map[string]any{"type": "ping"})
	alive.next("pong")
}

// A peer that stops reading cannot hold its writer: the write deadline
// drops it even when no event overflows.
func TestWriteDeadlineDropsAStalledPeer(t *testing.T) {
	g := newGateway(t, stream.Config{WriteTimeout: 200 * time.Millisecond, AudioQueue: 20})
	sid, token := g.session()
	small := httptest.NewUnstartedServer(g.srv.Config.Handler)
	small.Listener = smallSendBuffers{small.Listener}
	small.Start()
	defer small.Close()
	stalled := dialSmallBuffers(t, strings.Replace(small.URL, "http://", "ws://", 1)+"/v1/sessions/"+sid+"/connect?token="+token+"&audio=pcm16_16000")
	if _, _, err := stalled.ReadMessage(); err != nil { // session.ready, then nothing
		t.Fatal(err)
	}
	speaker := g.dial(sid, token, "&audio=none")
	speaker.next("session.ready")
	sine := mediatest.NewSine(8000, 440, -10)
	for i := range 100 {
		speaker.send(mulawInput(i, "customer", sine.Samples(800)))
	}
	deadline := time.Now().Add(20 * time.Second)
	for g.m.Metrics().Subscribers != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the stalled peer is still there: %+v", g.m.Metrics())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := g.m.Metrics().SlowConsumers; n != 0 {
		t.Fatalf("%d slow consumers: the write deadline, not the event queue, should drop it", n)
	}
}

// A client that floods requests without reading the answers is closed with
// 4008 once its replies overflow; the session's other client is unaffected.
func TestRequestFloodWithoutReading(t *testing.T) {
	g := newGateway(t, stream.Config{WriteTimeout: time.Minute})
	sid, token := g.session()
	small := httptest.NewUnstartedServer(g.srv.Config.Handler)
	small.Listener = smallSendBuffers{small.Listener}
	small.Start()
	defer small.Close()
	flooder := dialSmallBuffers(t, strings.Replace(small.URL, "http://", "ws://", 1)+"/v1/sessions/"+sid+"/connect?token="+token)
	other := g.dial(sid, token, "")
	other.next("session.ready")
	ping := []byte(`{"type":"ping"}`)
	for g.h.Stats().ReplyOverflows == 0 {
		if err := flooder.WriteMessage(websocket.TextMessage, ping); err != nil {
			break // the gateway closed it
		}
	}
	_ = flooder.SetReadDeadline(time.Now().Add(15 * time.Second))
	for {
		if _, _, err := flooder.ReadMessage(); err != nil {
			if !websocket.IsCloseError(err, stream.CloseSlowConsumer) {
				t.Fatalf("flooder: %v", err)
			}
			break
		}
	}
	if n := g.h.Stats().ReplyOverflows; n != 1 {
		t.Fatalf("%d reply overflows", n)
	}
	other.send(map[string]any{"type": "ping"})
	other.next("pong")
}
