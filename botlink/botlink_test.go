package botlink_test

import (
	"bufio"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/voxgate/voxgate/botlink"
	"github.com/voxgate/voxgate/media"
	"github.com/voxgate/voxgate/media/mediatest"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/sip"
	"github.com/voxgate/voxgate/sip/siptest"
	"github.com/voxgate/voxgate/store"
	"github.com/voxgate/voxgate/store/storetest"
	"github.com/voxgate/voxgate/stream"
	"github.com/voxgate/voxgate/transcode/g711"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, siptest.LeakOptions()...) }

// fixture is a gateway without HTTP: sessions, SIP on loopback, the stream
// handler that speaks to bots, and the supervisor that dials them.
type fixture struct {
	t   testing.TB
	m   *session.Manager
	h   *stream.Handler
	sup *botlink.Supervisor
	sip *sip.Server
	sc  store.Scope
	ctx context.Context
}

func newFixture(t testing.TB) *fixture {
	st := storetest.OpenConfig(t, store.Config{DataDir: t.TempDir()})
	m, err := session.NewManager(session.Config{PublicURL: "http://127.0.0.1:8080", SIPHost: "127.0.0.1", MaxConcurrentSessions: 1000}, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	f := &fixture{t: t, m: m, sc: store.Scope{OrgID: "org_bot", Livemode: true}, ctx: ctx}
	f.h = stream.NewHandler(stream.Config{BotHandshakeTimeout: 500 * time.Millisecond}, m, nil)
	f.sup = botlink.New(botlink.Config{MinBackoff: 50 * time.Millisecond, MaxBackoff: 400 * time.Millisecond, UnreachableAfter: 2}, m, f.h, nil)
	m.SetBotDialer(f.sup)
	name, cidrs := "carrier", []string{"127.0.0.1/32"}
	if _, err := m.CreateTrunk(ctx, f.sc, session.TrunkParams{Name: &name, InboundCIDRs: &cidrs}); err != nil {
		t.Fatal(err)
	}
	if f.sip, err = sip.Listen(sip.Config{Addr: "127.0.0.1:0", MediaTimeout: 10 * time.Second}, m, nil); err != nil {
		t.Fatal(err)
	}
	f.sip.Serve()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		m.EndAll(ctx, session.EndShutdown)
		f.sup.Close()
		f.sip.Close()
	})
	return f
}

// session creates a session whose agent is the bot at url, expecting a SIP call.
func (f *fixture) session(url, protocol, token, metadata string) session.Session {
	f.t.Helper()
	p := session.CreateParams{Mode: "media_stream", Routing: &session.Routing{Type: "sip"},
		StreamURL: &url, StreamProtocol: &protocol, StreamAuthToken: &token, Metadata: json.RawMessage(metadata)}
	s, err := f.m.Create(f.ctx, f.sc, p)
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

// waitEnded waits for the session to end, so that a bot missing its stop
// and a session that never ended fail differently.
func (f *fixture) waitEnded(sessionID string) {
	f.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		s, err := f.m.Get(f.ctx, f.sc, sessionID)
		if err != nil {
			f.t.Fatal(err)
		}
		if s.Ended() {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("the session is still %s after the caller's BYE", s.Status)
		}
	}
}

// call places a SIP call to the session and returns the phone.
func (f *fixture) call(sessionID string) *siptest.Phone {
	f.t.Helper()
	p := siptest.NewPhone(f.t, 0, 8000)
	if code := p.Call(f.ctx, f.sip.Addr(), sessionID, p.Offer(sip.Supported[0], sip.TelephoneEvent)); code != 200 {
		f.t.Fatalf("INVITE answered %d", code)
	}
	return p
}

// hearTone reads the phone's audio until half a second of it carries freq,
// then checks that one of the next four half seconds is that tone, clean
// (at -10 dBFS ± 2, 20 dB SNR): a click while a bot's first frames find
// their pace does not fail the call.
func hearTone(t testing.TB, p *siptest.Phone, freq float64) {
	t.Helper()
	var (
		heard []int16
		mf    media.Frame
	)
	read := func() {
		if err := p.RTP.ReadFrame(&mf); err != nil {
			t.Fatal(err)
		}
		if mf.Missing {
			return
		}
		dec := make([]int16, len(mf.Payload))
		g711.PCMU.Decode(mf.Payload, dec)
		heard = append(heard, dec...)
	}
	for len(heard) < 4000 || mediatest.Level(heard[len(heard)-4000:], 8000, freq) < -14 {
		if len(heard) > 8000*15 {
			t.Fatalf("the phone never heard %.0f Hz", freq)
		}
		read()
	}
	var best mediatest.Measurement
	for range 4 {
		heard = heard[:0]
		for len(heard) < 4000 {
			read()
		}
		m := mediatest.Measure(heard, 8000, freq)
		if math.Abs(m.Peak-freq) < 10 && math.Abs(m.Level+10) <= 2 && m.SNR >= 20 {
			return
		}
		if m.SNR > best.SNR {
			best = m
		}
	}
	t.Fatalf("the phone hears %.0f Hz unclean: at best %+v", freq, best)
}

// process is a bot running as a program: the URL it printed and the lines
// it prints after.
type process struct {
	url   string
	lines chan string
	pid   int
}

// run starts a bot program that prints "listening ws://…" first; it is
// killed when the test ends.
func run(t testing.TB, name string, args []string, env ...string) *process {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{lines: make(chan string, 1000), pid: cmd.Process.Pid}
	first := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if p.url == "" && strings.HasPrefix(sc.Text(), "listening ") {
				first <- strings.TrimPrefix(sc.Text(), "listening ")
				continue
			}
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
		close(p.lines)
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	select {
	case p.url = <-first:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not start", name)
	}
	return p
}

// event waits for the bot to print a message of the event type.
func (p *process) event(t testing.TB, name string) map[string]any {
	t.Helper()
	deadline := time.After(60 * time.Second) // CI runs many packages at once
	var skipped []string                     // what came instead, for the failure message
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				t.Fatalf("the bot exited before %s (it printed %q)", name, skipped)
			}
			var m map[string]any
			if json.Unmarshal([]byte(strings.TrimPrefix(line, "event ")), &m) == nil && m["event"] == name {
				return m
			}
			skipped = append(skipped, line)
		case <-deadline:
			t.Fatalf("the bot never got %s (it printed %q)", name, skipped)
		}
	}
}

// buildEchoBot builds examples/echo-bot.
func buildEchoBot(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "echo-bot")
	if out, err := exec.Command("go", "build", "-o", bin, "../examples/echo-bot").CombinedOutput(); err != nil {
		t.Fatalf("build echo-bot: %v\n%s", err, out)
	}
	return bin
}

// checkStart checks what a bot was told when its call started.
func checkStart(t testing.TB, m map[string]any) (callSid string) {
	t.Helper()
	start, _ := m["start"].(map[string]any)
	if m["sequenceNumber"] != "1" || start == nil || m["streamSid"] != start["streamSid"] {
		t.Fatalf("start: %v", m)
	}
	for field, prefix := range map[string]string{"streamSid": "MZ", "callSid": "CA", "accountSid": "AC"} {
		if v, _ := start[field].(string); !strings.HasPrefix(v, prefix) || len(v) != 34 {
			t.Errorf("start.%s = %q", field, v)
		}
	}
	params, _ := json.Marshal(start["customParameters"])
	format, _ := json.Marshal(start["mediaFormat"])
	if string(params) != `{"customer":"42","vip":"true"}` || string(format) != `{"channels":1,"encoding":"audio/x-mulaw","sampleRate":8000}` {
		t.Errorf("start: customParameters %s, mediaFormat %s", params, format)
	}
	return start["callSid"].(string)
}

func TestEchoBotAnswersASIPCall(t *testing.T) {
	f := newFixture(t)
	bot := run(t, buildEchoBot(t), []string{"-token", "s3cret"})
	s := f.session(bot.url, "twilio", "s3cret", `{"customer":"42","vip":true}`)
	p := talk(t, f, s.ID)
	// The bot is dialed when the call is answered, and told who calls.
	if m := bot.event(t, "connected"); m["protocol"] != "Call" || m["version"] != "1.0.0" {
		t.Fatalf("connected: %v", m)
	}
	callSid := checkStart(t, bot.event(t, "start"))
	// The phone hears its own tone, sent back by the bot.
	hearTone(t, p, 1000)
	// A digit the phone sends reaches the bot as dtmf.
	if err := p.RTP.SendDTMF("5"); err != nil {
		t.Fatal(err)
	}
	if m := bot.event(t, "dtmf"); m["dtmf"].(map[string]any)["digit"] != "5" {
		t.Fatalf("dtmf: %v", m)
	}
	// The phone hangs up: the bot gets stop for the same call.
	if err := p.Dialog.Bye(f.ctx); err != nil {
		t.Fatal(err)
	}
	f.waitEnded(s.ID)
	m := bot.event(t, "stop")
	if m["stop"].(map[string]any)["callSid"] != callSid {
		t.Fatalf("stop: %v", m)
	}
}

// TestBotAgentMaxDuration: a session whose agent is a stream_url bot with
// max_duration_seconds ends with max_duration that long after the answer;
// the bot gets stop and the caller a BYE.
func TestBotAgentMaxDuration(t *testing.T) {
	f := newFixture(t)
	bot := run(t, buildEchoBot(t), nil)
	name, proto, limit := "limited", "twilio", 2
	a, err := f.m.CreateAgent(f.ctx, f.sc, session.AgentParams{Name: &name, StreamURL: &bot.url, StreamProtocol: &proto, MaxDurationSeconds: &limit})
	if err != nil {
		t.Fatal(err)
	}
	s, err := f.m.Create(f.ctx, f.sc, session.CreateParams{Mode: "media_stream", Routing: &session.Routing{Type: "sip"}, AgentID: &a.ID})
	if err != nil {
		t.Fatal(err)
	}
	f.call(s.ID)
	answered := time.Now()
	bot.event(t, "start")
	f.waitEnded(s.ID)
	ended := time.Since(answered)
	got, err := f.m.Get(f.ctx, f.sc, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.EndReason == nil || *got.EndReason != session.EndMaxDuration {
		t.Fatalf("end_reason %v", got.EndReason)
	}
	if ended < time.Duration(limit)*time.Second {
		t.Fatalf("ended %v after the answer, before its %d s", ended, limit)
	}
	bot.event(t, "stop")
	// The caller is hung up (a BYE from the gateway) because the session ended.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		calls, _, err := f.m.ListCalls(f.ctx, f.sc, store.ListQuery{SessionID: s.ID, Limit: 10})
		if err != nil || len(calls) != 1 {
			t.Fatalf("calls %v, %v", calls, err)
		}
		if calls[0].Status == session.CallEnded {
			if calls[0].HangupCause != "session_ended" {
				t.Fatalf("hangup_cause %q", calls[0].HangupCause)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the call is still %s", calls[0].Status)
		}
	}
}

func TestNodeBotGreetsASIPCall(t *testing.T) {
	if _, err := os.Stat("../examples/node-bot/node_modules/ws"); err != nil {
		if out, err := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--prefix", "../examples/node-bot").CombinedOutput(); err != nil {
			t.Fatalf("npm ci (make deps-test installs node and npm): %v\n%s", err, out)
		}
	}
	f := newFixture(t)
	bot := run(t, "node", []string{"../examples/node-bot/bot.js"}, "BOT_TOKEN=n0de", "GREETING_HZ=440", "GREETING_MS=2000")
	s := f.session(bot.url, "twilio", "n0de", `{"customer":"42","vip":true}`)
	p := f.call(s.ID)
	callSid := checkStart(t, bot.event(t, "start"))
	hearTone(t, p, 440)
	// The bot asked for a mark after its greeting: it comes back once played.
	if m := bot.event(t, "mark"); m["mark"].(map[string]any)["name"] != "greeting" {
		t.Fatalf("mark: %v", m)
	}
	if err := p.Dialog.Bye(f.ctx); err != nil {
		t.Fatal(err)
	}
	f.waitEnded(s.ID)
	if m := bot.event(t, "stop"); m["stop"].(map[string]any)["callSid"] != callSid {
		t.Fatalf("stop: %v", m)
	}
}

func TestVoxgateProtocolBot(t *testing.T) {
	f := newFixture(t)
	type msg struct {
		Type    string `json:"type"`
		Speaker string `json:"speaker"`
		Audio   *struct {
			Encoding     string `json:"encoding"`
			SampleRateHz int    `json:"sample_rate_hz"`
			Payload      string `json:"payload"`
		} `json:"audio"`
	}
	auth := make(chan string, 4)
	var up websocket.Upgrader
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth <- r.Header.Get("Authorization")
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		// The gateway speaks first, as a voxgate server does; the bot sends
		// back the customer's audio as its own (speaking as the agent,
		// whatever speaker it names).
		for {
			var m msg
			if ws.ReadJSON(&m) != nil {
				return
			}
			if m.Type == "audio.output" && m.Speaker == "customer" {
				m.Type, m.Speaker = "audio.input", "customer"
				if ws.WriteJSON(m) != nil {
					return
				}
			}
		}
	}))
	defer srv.Close()
	s := f.session(strings.Replace(srv.URL, "http://", "ws://", 1), "voxgate", "vx", `{}`)
	p := talk(t, f, s.ID)
	if got := <-auth; got != "Bearer vx" {
		t.Fatalf("Authorization: %q", got)
	}
	hearTone(t, p, 1000)
}
