package stream_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/voxgate/voxgate/media/mediatest"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/session/sessiontest"
	"github.com/voxgate/voxgate/store"
	"github.com/voxgate/voxgate/stream"
	"github.com/voxgate/voxgate/transcode/g711"
)

// twilioPeer plays Twilio's part of a <Connect><Stream>, built from the
// documented messages (reference peers.md §1): it sends connected, start,
// base64 μ-law media in 20 ms frames, dtmf and stop, and collects what the
// gateway sends back.
type twilioPeer struct {
	t    testing.TB
	ws   *websocket.Conn
	wmu  sync.Mutex // one writer at a time
	sid  string     // streamSid
	msgs chan stream.TwilioMessage
	done chan struct{}
	err  error
}

func (g *gateway) twilio(sessionID string) *twilioPeer {
	g.t.Helper()
	u := strings.Replace(g.srv.URL, "http://", "ws://", 1) + "/v1/sessions/" + sessionID + "/connect"
	ws, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		g.t.Fatal(err)
	}
	p := &twilioPeer{t: g.t, ws: ws, sid: "MZ0123456789abcdef0123456789abcdef", msgs: make(chan stream.TwilioMessage, 10000), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for {
			_, raw, err := ws.ReadMessage()
			if err != nil {
				p.err = err
				return
			}
			var m stream.TwilioMessage
			if err := json.Unmarshal(raw, &m); err != nil {
				p.err = err
				return
			}
			p.msgs <- m
		}
	}()
	g.t.Cleanup(func() { ws.Close(); <-p.done })
	return p
}

func (p *twilioPeer) send(v any) {
	p.t.Helper()
	b, _ := json.Marshal(v)
	if err := p.write(b); err != nil {
		p.t.Fatal(err)
	}
}

func (p *twilioPeer) write(b []byte) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	return p.ws.WriteMessage(websocket.TextMessage, b)
}

// start sends connected and start with the custom parameters.
func (p *twilioPeer) start(params map[string]string) {
	p.send(map[string]any{"event": "connected", "protocol": "Call", "version": "1.0.0"})
	p.send(map[string]any{"event": "start", "sequenceNumber": "1", "streamSid": p.sid, "start": map[string]any{
		"streamSid": p.sid, "accountSid": "AC0123456789abcdef0123456789abcdef", "callSid": "CA0123456789abcdef0123456789abcdef",
		"tracks": []string{"inbound"}, "customParameters": params,
		"mediaFormat": map[string]any{"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
	}})
}

// stream sends a tone as Twilio does: 20 ms μ-law frames in real time.
func (p *twilioPeer) stream(freq float64, d time.Duration) {
	sine := mediatest.NewSine(8000, freq, -10)
	pcm := make([]int16, 160)
	buf := make([]byte, 160)
	tk := time.NewTicker(20 * time.Millisecond)
	defer tk.Stop()
	for i := range int(d / (20 * time.Millisecond)) {
		<-tk.C
		sine.Read(pcm)
		g711.PCMU.Encode(pcm, buf)
		b, _ := json.Marshal(map[string]any{"event": "media", "sequenceNumber": itoa(i + 2), "streamSid": p.sid,
			"media": map[string]string{"track": "inbound", "chunk": itoa(i + 1), "timestamp": itoa(20 * i), "payload": base64.StdEncoding.EncodeToString(buf)}})
		if p.write(b) != nil {
			return
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// hear collects the μ-law audio of n media messages, checking their form.
func (p *twilioPeer) hear(n int) []int16 {
	p.t.Helper()
	var pcm []int16
	deadline := time.After(15 * time.Second)
	for got := 0; got < n; {
		select {
		case m := <-p.msgs:
			if m.Event != "media" {
				continue
			}
			if m.StreamSid != p.sid || m.Media == nil {
				p.t.Fatalf("media without the streamSid or body: %+v", m)
			}
			b, err := base64.StdEncoding.DecodeString(m.Media.Payload)
			if err != nil || len(b) != 160 {
				p.t.Fatalf("media payload of %d bytes (%v)", len(b), err)
			}
			dec := make([]int16, 160)
			g711.PCMU.Decode(b, dec)
			pcm = append(pcm, dec...)
			got++
		case <-p.done:
			p.t.Fatalf("stream closed: %v", p.err)
		case <-deadline:
			p.t.Fatalf("%d media messages of %d", got, n)
		}
	}
	return pcm
}

func (p *twilioPeer) closeCode() int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		p.t.Fatal("stream did not close")
	}
	var ce *websocket.CloseError
	if errors.As(p.err, &ce) {
		return ce.Code
	}
	return -1
}

func TestTwilioStreamIsALeg(t *testing.T) {
	g := newGateway(t, stream.Config{})
	sid, token := g.session()
	ctx := context.Background()
	sub, err := g.m.Subscribe(ctx, sid, session.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	p := g.twilio(sid)
	p.start(map[string]string{"token": token})
	if ev := sessiontest.Next(t, sub, session.EventCallAnswered); !strings.Contains(string(ev.Data), `"transport":"twilio"`) {
		t.Fatalf("call.answered: %s", ev.Data)
	}
	// Twilio's caller reaches the subscriber as the customer.
	go p.stream(1000, 1500*time.Millisecond)
	heard := sessiontest.Hear(t, sub, session.SpeakerCustomer, session.Rate)
	mediatest.CheckTone(t, heard[4000:], session.Rate, mediatest.ToneWant{Freq: 1000, Level: -10, MinSNR: 25})
	// The subscriber's audio as the agent reaches Twilio as media.
	if err := sub.Input(session.SpeakerAgent, mediatest.Tone(session.Rate, 600, -10, 2*session.Rate)); err != nil {
		t.Fatal(err)
	}
	var pcm []int16
	for {
		pcm = append(pcm, p.hear(25)...)
		if mediatest.Level(pcm[len(pcm)-4000:], 8000, 600) > -12 {
			break
		}
		if len(pcm) > 8000*3 {
			t.Fatal("Twilio never heard the agent's tone")
		}
	}
	pcm = p.hear(25) // well inside the 2 s tone
	mediatest.CheckTone(t, pcm, 8000, mediatest.ToneWant{Freq: 600, Level: -10, LevelTol: 1.5, MinSNR: 25})
	// A digit from Twilio is dtmf.received.
	p.send(map[string]any{"event": "dtmf", "streamSid": p.sid, "sequenceNumber": "99", "dtmf": map[string]string{"track": "inbound_track", "digit": "7"}})
	if ev := sessiontest.Next(t, sub, "dtmf.received"); !strings.Contains(string(ev.Data), `"digit":"7"`) {
		t.Fatalf("dtmf.received: %s", ev.Data)
	}
	// stop ends the leg; the last call leaving ends the session.
	p.send(map[string]any{"event": "stop", "sequenceNumber": "100", "streamSid": p.sid,
		"stop": map[string]string{"accountSid": "AC0123456789abcdef0123456789abcdef", "callSid": "CA0123456789abcdef0123456789abcdef"}})
	if ev := sessiontest.Next(t, sub, session.EventSessionEnded); ev.Reason != session.EndCallsEnded {
		t.Fatalf("session ended with %s", ev.Reason)
	}
	if code := p.closeCode(); code != websocket.CloseNormalClosure {
		t.Fatalf("closed with %d", code)
	}
	var c session.Call
	for range 250 {
		calls, _, _ := g.m.ListCalls(ctx, g.sc, store.ListQuery{Limit: 10, SessionID: sid})
		if len(calls) == 1 && calls[0].Status == session.CallEnded {
			c = calls[0]
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if c.Transport != "twilio" || c.HangupCause != "remote_stop" || c.Codec != "PCMU" || c.Speaker != session.SpeakerCustomer || c.From != "CA0123456789abcdef0123456789abcdef" {
		t.Fatalf("call: %+v", c)
	}
}

func TestTwilioStreamNeedsItsToken(t *testing.T) {
	g := newGateway(t, stream.Config{TwilioStartTimeout: 300 * time.Millisecond})
	sid, token := g.session()
	for _, tc := range []struct {
		name string
		send func(p *twilioPeer)
	}{
		{"wrong token", func(p *twilioPeer) { p.start(map[string]string{"token": token + "x"}) }},
		{"no token", func(p *twilioPeer) { p.start(map[string]string{"speaker": "agent"}) }},
		{"silent", func(*twilioPeer) {}},
		{"connected only", func(p *twilioPeer) {
			p.send(map[string]any{"event": "connected", "protocol": "Call", "version": "1.0.0"})
		}},
		{"media first", func(p *twilioPeer) {
			p.send(map[string]any{"event": "media", "streamSid": "MZ1", "media": map[string]string{"payload": "//8="}})
		}},
		{"garbage", func(p *twilioPeer) { _ = p.ws.WriteMessage(websocket.TextMessage, []byte("{")) }},
	} {
		p := g.twilio(sid)
		tc.send(p)
		if code := p.closeCode(); code != stream.CloseInvalidToken {
			t.Errorf("%s: closed with %d, want 4001", tc.name, code)
		}
	}
	// The session is still usable, and a good start joins as the speaker it names.
	sub, err := g.m.Subscribe(context.Background(), sid, session.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	p := g.twilio(sid)
	p.start(map[string]string{"token": token, "speaker": "agent"})
	go p.stream(700, time.Second)
	heard := sessiontest.Hear(t, sub, session.SpeakerAgent, session.Rate/2)
	mediatest.CheckTone(t, heard[2000:], session.Rate, mediatest.ToneWant{Freq: 700, Level: -10, MinSNR: 25})
}

// until returns the next message of the event and how many media messages
// came before it.
func (p *twilioPeer) until(event string) (stream.TwilioMessage, int) {
	p.t.Helper()
	media := 0
	deadline := time.After(15 * time.Second)
	for {
		select {
		case m := <-p.msgs:
			if m.Event == event {
				return m, media
			}
			if m.Event == "media" {
				media++
			}
		case <-p.done:
			p.t.Fatalf("stream closed waiting for %s: %v", event, p.err)
		case <-deadline:
			p.t.Fatalf("no %s", event)
		}
	}
}

// noMarkYet checks that no mark echo waits for the subscriber now.
func noMarkYet(t testing.TB, sub *session.Subscription) {
	t.Helper()
	for ev, ok := sub.NextEvent(); ok; ev, ok = sub.NextEvent() {
		if ev.Type == "mark" {
			t.Fatalf("mark %q echoed before Twilio played it", ev.Name)
		}
	}
}

func TestTwilioMarksAndClear(t *testing.T) {
	g := newGateway(t, stream.Config{})
	sid, token := g.session()
	sub, err := g.m.Subscribe(context.Background(), sid, session.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	p := g.twilio(sid)
	p.start(map[string]string{"token": token})
	sessiontest.Next(t, sub, session.EventCallAnswered)
	// The agent's client queues 1 s of speech and a mark: Twilio gets the
	// mark after that audio, and the client's echo waits for Twilio's.
	if err := sub.Input(session.SpeakerAgent, mediatest.Tone(session.Rate, 600, -10, session.Rate)); err != nil {
		t.Fatal(err)
	}
	sub.Mark("m1")
	m, media := p.until("mark")
	if m.StreamSid != p.sid || m.Mark == nil || m.Mark.Name != "m1" || media < 50 {
		t.Fatalf("mark after %d media messages: %+v", media, m)
	}
	noMarkYet(t, sub)
	p.send(map[string]any{"event": "mark", "sequenceNumber": "60", "streamSid": p.sid, "mark": map[string]string{"name": "m1"}})
	if ev := sessiontest.Next(t, sub, "mark"); ev.Name != "m1" {
		t.Fatalf("mark: %+v", ev)
	}
	// 10 s queued, a mark, then a clear: Twilio is told to clear, then gets
	// the mark at once; its echo (Twilio echoes a cleared mark) reaches the client.
	if err := sub.Input(session.SpeakerAgent, mediatest.Tone(session.Rate, 600, -10, 10*session.Rate)); err != nil {
		t.Fatal(err)
	}
	sub.Mark("m2")
	sub.Clear()
	if m, _ := p.until("clear"); m.StreamSid != p.sid {
		t.Fatalf("clear: %+v", m)
	}
	if m, _ := p.until("mark"); m.Mark.Name != "m2" {
		t.Fatalf("mark: %+v", m)
	}
	noMarkYet(t, sub)
	p.send(map[string]any{"event": "mark", "sequenceNumber": "61", "streamSid": p.sid, "mark": map[string]string{"name": "m2"}})
	if ev := sessiontest.Next(t, sub, "mark"); ev.Name != "m2" {
		t.Fatalf("mark: %+v", ev)
	}
	// A mark still pending when the call ends is echoed all the same.
	if err := sub.Input(session.SpeakerAgent, mediatest.Tone(session.Rate, 600, -10, session.Rate/5)); err != nil {
		t.Fatal(err)
	}
	sub.Mark("m3")
	p.until("mark")
	p.send(map[string]any{"event": "stop", "sequenceNumber": "62", "streamSid": p.sid, "stop": map[string]string{}})
	if ev := sessiontest.Next(t, sub, "mark"); ev.Name != "m3" {
		t.Fatalf("mark: %+v", ev)
	}
}
