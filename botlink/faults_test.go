package botlink_test

import (
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/voxgate/voxgate/media"
	"github.com/voxgate/voxgate/media/mediatest"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/session/sessiontest"
	"github.com/voxgate/voxgate/sip/siptest"
	"github.com/voxgate/voxgate/transcode"
	"github.com/voxgate/voxgate/transcode/g711"
)

// fakeBot is a bot on loopback whose behaviour each test writes: serve
// runs for its n-th connection (from 1).
type fakeBot struct {
	url   string
	conns atomic.Int32
	auth  atomic.Value // the last Authorization header
}

func newFakeBot(t testing.TB, serve func(n int, ws *websocket.Conn)) *fakeBot {
	b := &fakeBot{}
	var up websocket.Upgrader
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.auth.Store(r.Header.Get("Authorization"))
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		serve(int(b.conns.Add(1)), ws)
	}))
	t.Cleanup(srv.Close)
	b.url = strings.Replace(srv.URL, "http://", "ws://", 1)
	return b
}

// twilioMsg is what a Twilio bot reads.
type twilioMsg struct {
	Event     string `json:"event"`
	StreamSid string `json:"streamSid"`
	Start     *struct {
		StreamSid string `json:"streamSid"`
	} `json:"start"`
	Media *struct {
		Payload string `json:"payload"`
	} `json:"media"`
	Mark *struct {
		Name string `json:"name"`
	} `json:"mark"`
}

// readUntil reads messages until one of the event; ok is false when the
// connection ended first.
func readUntil(ws *websocket.Conn, event string) (twilioMsg, bool) {
	for {
		_, raw, err := ws.ReadMessage()
		if err != nil {
			return twilioMsg{}, false
		}
		var m twilioMsg
		if json.Unmarshal(raw, &m) == nil && m.Event == event {
			return m, true
		}
	}
}

// echo sends every media payload back until the connection ends.
func echo(ws *websocket.Conn, streamSid string) {
	for {
		m, ok := readUntil(ws, "media")
		if !ok {
			return
		}
		_ = ws.WriteJSON(map[string]any{"event": "media", "streamSid": streamSid, "media": map[string]string{"payload": m.Media.Payload}})
	}
}

// talk calls the session and keeps the phone sending a 1 kHz tone, without
// a break, until the test ends.
func talk(t testing.TB, f *fixture, sessionID string) *siptest.Phone {
	p := f.call(sessionID)
	enc, err := transcode.Chain(media.PCM16(8000), p.Format, media.WriterFunc(p.RTP.WriteFrame))
	if err != nil {
		t.Fatal(err)
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		sine := mediatest.NewSine(8000, 1000, -10)
		pcm := make([]int16, 160)
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for ts := uint32(0); ; ts += 160 {
			select {
			case <-stop:
				return
			case <-tk.C:
			}
			sine.Read(pcm)
			_ = enc.WriteFrame(media.Frame{Samples: pcm, Timestamp: ts})
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
	return p
}

func TestBotThatNeverAnswers(t *testing.T) {
	refused := atomic.Int32{}
	refuser := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		refused.Add(1)
		http.Error(w, "go away", http.StatusForbidden)
	}))
	defer refuser.Close()
	silent, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never answers the handshake
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	for _, url := range []string{strings.Replace(refuser.URL, "http://", "ws://", 1), "ws://" + silent.Addr().String()} {
		f := newFixture(t)
		s := f.session(url, "twilio", "", `{}`)
		mon, err := f.m.Subscribe(f.ctx, s.ID, session.SubscribeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		talk(t, f, s.ID)
		// The call's audio goes on without its bot.
		heard := sessiontest.Hear(t, mon, session.SpeakerCustomer, session.Rate)
		mediatest.CheckTone(t, heard[session.Rate/2:], session.Rate, mediatest.ToneWant{Freq: 1000, Level: -10, MinSNR: 25})
		// The session is told, once the dials keep failing.
		ev := sessiontest.Next(t, mon, "session.error")
		if !strings.Contains(string(ev.Data), `"code":"bot_unreachable"`) {
			t.Fatalf("session.error: %s", ev.Data)
		}
		mon.Close()
	}
	if refused.Load() < 2 {
		t.Fatalf("the refusing bot was dialed %d times", refused.Load())
	}
}

func TestBotThatDropsIsRedialed(t *testing.T) {
	f := newFixture(t)
	bot := newFakeBot(t, func(n int, ws *websocket.Conn) {
		m, ok := readUntil(ws, "start")
		if !ok {
			return
		}
		if n == 1 { // the first connection dies after 20 frames, without a close frame
			for range 20 {
				readUntil(ws, "media")
			}
			ws.UnderlyingConn().Close()
			return
		}
		echo(ws, m.Start.StreamSid)
	})
	s := f.session(bot.url, "twilio", "", `{}`)
	p := talk(t, f, s.ID)
	hearTone(t, p, 1000)
	if n := bot.conns.Load(); n < 2 {
		t.Fatalf("the bot was dialed %d times", n)
	}
}

func TestBotThatSendsGarbage(t *testing.T) {
	f := newFixture(t)
	bot := newFakeBot(t, func(_ int, ws *websocket.Conn) {
		m, ok := readUntil(ws, "start")
		if !ok {
			return
		}
		sid := m.Start.StreamSid
		for _, junk := range []string{"not json", `{"event":"media","media":{"payload":"%%%"}}`, `{"event":"media"}`,
			`{"event":"dance"}`, `{"event":"mark","mark":{}}`, `[1,2]`, `{"event":"start"}`} {
			_ = ws.WriteMessage(websocket.TextMessage, []byte(junk))
		}
		_ = ws.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3})
		echo(ws, sid)
	})
	s := f.session(bot.url, "twilio", "", `{}`)
	p := talk(t, f, s.ID)
	hearTone(t, p, 1000)
	if n := bot.conns.Load(); n != 1 {
		t.Fatalf("the bot was dialed %d times: garbage should not drop it", n)
	}
	if st := f.h.Stats(); st.InvalidMessages < 7 {
		t.Fatalf("invalid messages counted: %d", st.InvalidMessages)
	}
}

func TestBotFasterThanRealTime(t *testing.T) {
	f := newFixture(t)
	var heardAtMark atomic.Int64
	agentFrames := atomic.Int64{}
	marked := make(chan struct{})
	bot := newFakeBot(t, func(_ int, ws *websocket.Conn) {
		m, ok := readUntil(ws, "start")
		if !ok {
			return
		}
		// 3 s of 800 Hz at once, then a mark.
		sine := mediatest.NewSine(8000, 800, -10)
		pcm, buf := make([]int16, 160), make([]byte, 160)
		for range 150 {
			sine.Read(pcm)
			g711.PCMU.Encode(pcm, buf)
			_ = ws.WriteJSON(map[string]any{"event": "media", "streamSid": m.Start.StreamSid,
				"media": map[string]string{"payload": base64.StdEncoding.EncodeToString(buf)}})
		}
		_ = ws.WriteJSON(map[string]any{"event": "mark", "streamSid": m.Start.StreamSid, "mark": map[string]string{"name": "spoken"}})
		if mk, ok := readUntil(ws, "mark"); ok && mk.Mark.Name == "spoken" {
			heardAtMark.Store(agentFrames.Load())
			close(marked)
		}
		// Then more than the 60 s the gateway queues: the excess is dropped.
		for range 3100 {
			sine.Read(pcm)
			g711.PCMU.Encode(pcm, buf)
			_ = ws.WriteJSON(map[string]any{"event": "media", "streamSid": m.Start.StreamSid,
				"media": map[string]string{"payload": base64.StdEncoding.EncodeToString(buf)}})
		}
		readUntil(ws, "stop")
	})
	s := f.session(bot.url, "twilio", "", `{}`)
	mon, err := f.m.Subscribe(f.ctx, s.ID, session.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer mon.Close()
	go func() {
		var fr session.AudioFrame
		for {
			select {
			case <-mon.AudioReady():
				for mon.NextAudio(&fr) {
					if fr.Speaker == session.SpeakerAgent {
						agentFrames.Add(1)
					}
				}
			case <-mon.Done():
				return
			}
		}
	}()
	p := talk(t, f, s.ID)
	hearTone(t, p, 800) // played in real time, not dropped nor rushed
	select {
	case <-marked:
	case <-time.After(20 * time.Second):
		t.Fatal("the mark never came back")
	}
	// The mark came back once the audio before it had been played.
	if n := heardAtMark.Load(); n < 140 {
		t.Fatalf("the mark came back after %d of the 150 frames queued before it", n)
	}
	// Beyond the playout limit the bot's audio is dropped and counted; the
	// call goes on.
	for f.h.Stats().BotAudioDropped == 0 {
		select {
		case <-f.ctx.Done():
			t.Fatal("no bot audio counted as dropped")
		case <-time.After(50 * time.Millisecond):
		}
	}
	hearTone(t, p, 800)
	if n := bot.conns.Load(); n != 1 {
		t.Fatalf("the bot was dialed %d times", n)
	}
}

// An agent's stream_url is its session's bot, dialed at once when the
// session expects no call (no routing), with the agent's token.
func TestAgentBotWithoutRouting(t *testing.T) {
	f := newFixture(t)
	starts := make(chan twilioMsg, 4)
	bot := newFakeBot(t, func(_ int, ws *websocket.Conn) {
		if m, ok := readUntil(ws, "start"); ok {
			starts <- m
		}
		readUntil(ws, "stop")
	})
	name, proto, token := "helper", "twilio", "agent-token"
	a, err := f.m.CreateAgent(f.ctx, f.sc, session.AgentParams{Name: &name, StreamURL: &bot.url, StreamProtocol: &proto, StreamAuthToken: &token})
	if err != nil {
		t.Fatal(err)
	}
	s, err := f.m.Create(f.ctx, f.sc, session.CreateParams{Mode: "ai_agent", AgentID: &a.ID})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-starts:
		if m.Start == nil || !strings.HasPrefix(m.Start.StreamSid, "MZ") {
			t.Fatalf("start: %+v", m)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the agent's bot was never dialed")
	}
	if got := bot.auth.Load(); got != "Bearer agent-token" {
		t.Fatalf("Authorization: %v", got)
	}
	if _, err := f.m.End(f.ctx, f.sc, s.ID, session.EndExplicit); err != nil {
		t.Fatal(err)
	}
	for f.sup.Running() > 0 { // the bot got stop and is not redialed
		select {
		case <-f.ctx.Done():
			t.Fatal("the bot is still kept after the session ended")
		case <-time.After(20 * time.Millisecond):
		}
	}
	if n := bot.conns.Load(); n != 1 {
		t.Fatalf("the bot was dialed %d times", n)
	}
}
