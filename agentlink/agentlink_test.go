package agentlink_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voxgate/voxgate/agentlink"
	"github.com/voxgate/voxgate/llm"
	"github.com/voxgate/voxgate/llm/llmtest"
	"github.com/voxgate/voxgate/media"
	"github.com/voxgate/voxgate/media/mediatest"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/session/sessiontest"
	"github.com/voxgate/voxgate/sip"
	"github.com/voxgate/voxgate/sip/siptest"
	"github.com/voxgate/voxgate/speech/synth"
	_ "github.com/voxgate/voxgate/speech/transcribe/pocketsphinx"
	"github.com/voxgate/voxgate/speech/transcribe/transcribetest"
	"github.com/voxgate/voxgate/store"
	"github.com/voxgate/voxgate/store/storetest"
	"github.com/voxgate/voxgate/transcode/g722"
)

// caller is a SIP phone on a G.722 call: it keeps sending (silence when it
// has nothing to say) and keeps what it hears, decoded to 16 kHz.
type caller struct {
	p    *siptest.Phone
	says chan []int16

	mu    sync.Mutex
	heard []int16
}

func newCaller(t *testing.T) *caller {
	g722Codec := sip.Supported[2]
	p := siptest.NewPhone(t, g722Codec.PayloadType, g722Codec.ClockRate)
	p.Format = media.Format{Codec: media.CodecG722, SampleRate: session.Rate, Channels: 1}
	return &caller{p: p, says: make(chan []int16, 1)}
}

// run talks and listens until ctx ends.
func (c *caller) run(ctx context.Context) {
	go func() {
		dec := g722.NewDecoder()
		var f media.Frame
		for c.p.RTP.ReadFrame(&f) == nil {
			pcm := make([]int16, session.FrameSamples)
			if !f.Missing {
				n, _ := dec.Decode(f.Payload, pcm)
				pcm = pcm[:n]
			}
			c.mu.Lock()
			c.heard = append(c.heard, pcm...)
			c.mu.Unlock()
		}
	}()
	pause := make([]int16, session.Rate/10)
	for ctx.Err() == nil {
		select {
		case pcm := <-c.says:
			c.p.SendPCM(pcm, session.Rate)
		default:
			c.p.SendPCM(pause, session.Rate)
		}
	}
}

// hearing returns how many samples the phone has heard so far.
func (c *caller) hearing() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.heard)
}

// loudFrames counts the frames heard with speech in them, and the frames
// heard since the last of them.
func (c *caller) loudFrames() (loud, quiet int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := 0; i+session.FrameSamples <= len(c.heard); i += session.FrameSamples {
		var sum float64
		for _, v := range c.heard[i : i+session.FrameSamples] {
			sum += float64(v) * float64(v)
		}
		quiet++
		if sum/session.FrameSamples > 300*300 { // louder than -40 dBFS
			loud, quiet = loud+1, 0
		}
	}
	return loud, quiet
}

// transcribe has pocketsphinx_continuous transcribe what the phone heard
// from sample from to sample to.
func (c *caller) transcribe(t *testing.T, from, to int) string {
	c.mu.Lock()
	pcm := append([]int16(nil), c.heard[from:min(to, len(c.heard))]...)
	c.mu.Unlock()
	path := filepath.Join(t.TempDir(), "heard.wav")
	w, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := mediatest.WriteWAV(w, session.Rate, pcm); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	text, _ := transcribetest.Continuous(t, path)
	return text
}

// TestAgentCall drives an ai_agent call from a SIP phone (G.722): the
// caller hears the welcome, asks a question (transcribed by the gateway),
// the model calls a tool whose result a client returns, the answer is
// spoken until the caller speaks over it (barge-in), and the agent hangs up
// after the configured silence. What the caller heard is transcribed
// offline; what the agent said is in the session's transcript, at the
// media time it played.
func TestAgentCall(t *testing.T) {
	sentences := transcribetest.Sentences(t)
	if _, ok := transcribetest.Continuous(t, sentences[0].File); !ok {
		t.Skip("pocketsphinx is not installed")
	}
	// The model: the first question calls the tool, its result gets a long
	// answer, anything after that a short one.
	const cut = "On saturday the office opens at ten in the morning."
	srv := llmtest.Start(t, func(req llm.Request) llmtest.Reply {
		users := 0
		for _, m := range req.Messages {
			if m.Role == "user" {
				users++
			}
		}
		switch last := req.Messages[len(req.Messages)-1]; {
		case last.Role == "tool":
			return llmtest.Reply{Text: "The refund should appear within five business days. " + cut + " On sunday the office is closed all day."}
		case users == 1:
			return llmtest.Reply{ToolCalls: []llm.ToolCall{{ID: "call_1", Type: "function",
				Function: llm.FunctionCall{Name: "lookup_order", Arguments: `{"order":"latest"}`}}}}
		}
		return llmtest.Reply{Text: "You are welcome."}
	})

	st := storetest.OpenConfig(t, store.Config{DataDir: t.TempDir()})
	m, err := session.NewManager(session.Config{PublicURL: "http://127.0.0.1:8080", SIPHost: "127.0.0.1"}, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sc := store.Scope{OrgID: "org_test", Livemode: true}
	trunk := "carrier"
	if _, err := m.CreateTrunk(ctx, sc, session.TrunkParams{Name: &trunk, InboundCIDRs: &[]string{"127.0.0.1/32"}}); err != nil {
		t.Fatal(err)
	}
	gw, err := sip.Listen(sip.Config{Addr: "127.0.0.1:0"}, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	gw.Serve()
	t.Cleanup(func() { gw.Close() })
	sup := agentlink.New(agentlink.Config{}, m, nil, nil)
	t.Cleanup(sup.Close)
	m.SetBotDialer(sup)
	m.SetToolResults(sup)

	str := func(s string) *string { return &s }
	silence := 3
	tools := []session.Tool{{Name: "lookup_order", Parameters: json.RawMessage(`{"type":"object"}`)}}
	a, err := m.CreateAgent(ctx, sc, session.AgentParams{Name: str("Support"), Instructions: str("You answer the support line."),
		WelcomeMessage: str("Good morning, thank you for calling the support line."), Tools: &tools,
		LLM: &session.LLM{BaseURL: srv.BaseURL(), Model: "test"}, HangupAfterSilenceSeconds: &silence})
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.Create(ctx, sc, session.CreateParams{Mode: string(session.ModeAIAgent), AgentID: &a.ID})
	if err != nil {
		t.Fatal(err)
	}
	client, err := m.Subscribe(ctx, s.ID, session.SubscribeOptions{AudioQueue: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ph := newCaller(t)
	if code := ph.p.Call(ctx, gw.Addr(), s.ID, ph.p.Offer(sip.Supported[2])); code != 200 {
		t.Fatalf("INVITE answered %d", code)
	}
	talking, stop := context.WithCancel(ctx)
	defer stop()
	go ph.run(talking)

	// next waits for the session's next event of one of the types, or
	// until until (when not nil) holds.
	events := sessiontest.Events(t, client)
	next := func(what string, until func() bool, types ...string) session.Event {
		t.Helper()
		deadline := time.After(60 * time.Second)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				if until != nil && until() {
					return session.Event{}
				}
			case ev := <-events:
				if ev.Type == "session.error" {
					t.Fatalf("session.error %s", ev.Data)
				}
				if slices.Contains(types, ev.Type) {
					return ev
				}
			case <-client.AudioReady():
				var f session.AudioFrame
				for client.NextAudio(&f) {
				}
			case <-deadline:
				loud, _ := ph.loudFrames()
				t.Fatalf("no %s (the phone heard %d frames of speech)", what, loud)
			}
		}
	}

	// The caller answers the welcome as soon as it has been heard (a
	// quarter second of silence after a second of speech).
	next("the welcome", func() bool { loud, quiet := ph.loudFrames(); return loud >= 50 && quiet >= 12 })
	welcome := ph.hearing()
	ph.says <- sentences[2].PCM // "i would like to check the status of my order"
	ev := next("the tool call", nil, session.EventToolCall)
	var tc struct {
		ID   string `json:"tool_call_id"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal(ev.Data, &tc); err != nil || tc.ID != "call_1" || tc.Name != "lookup_order" {
		t.Fatalf("tool.call %s", ev.Data)
	}
	if err := m.ToolResult(s.ID, "call_9", "{}"); !errors.Is(err, session.ErrNoToolCall) {
		t.Fatalf("result for an unknown call: %v", err)
	}
	loud, _ := ph.loudFrames()
	answer := ph.hearing()
	if err := m.ToolResult(s.ID, tc.ID, `{"status":"refunded"}`); err != nil {
		t.Fatal(err)
	}

	// Three seconds into the answer, the caller speaks over it.
	next("the answer", func() bool { n, _ := ph.loudFrames(); return n >= loud+150 })
	ph.says <- sentences[16].PCM // "thank you for your patience today"
	ended := next("the hangup", nil, session.EventSessionEnded)
	stop()
	var sess session.Session
	if err := json.Unmarshal(ended.Data, &sess); err != nil || sess.EndReason == nil || *sess.EndReason != session.EndCallsEnded {
		t.Fatalf("session ended %s", ended.Data)
	}

	// What the caller heard: the welcome, then the answer's start (not its
	// end) and the reply to the thanks.
	heard := ph.transcribe(t, 0, welcome)
	t.Logf("the caller heard %q", heard)
	if words(heard, "morning", "thank", "calling", "support", "line") < 3 {
		t.Errorf("the welcome was heard as %q", heard)
	}
	heard = ph.transcribe(t, answer, ph.hearing())
	t.Logf("then %q", heard)
	if words(heard, "refund", "should", "appear", "within", "five", "business", "days") < 3 || words(heard, "sunday", "closed") > 0 {
		t.Errorf("the caller heard %q: want the answer's start, cut before its end", heard)
	}

	// The transcript has both sides, the agent's turns as they played: the
	// sentence the caller spoke over is cut short.
	tr := readyTranscript(ctx, t, st, m, sc, s.ID)
	var custStart, cutStart, cutEnd int64 = -1, -1, -1
	var agentSaid []string
	for _, turn := range tr.Turns {
		t.Logf("%s %d-%d ms: %q", turn.Speaker, turn.StartMS, turn.EndMS, turn.Text)
		switch {
		case turn.Speaker == session.SpeakerAgent:
			agentSaid = append(agentSaid, turn.Text)
			if turn.Confidence != 1 {
				t.Errorf("agent turn %+v: confidence 1", turn)
			}
			if turn.Text == cut {
				cutStart, cutEnd = turn.StartMS, turn.EndMS
			}
		case cutStart >= 0 && custStart < 0:
			custStart = turn.StartMS
		}
	}
	want := []string{"Good morning, thank you for calling the support line.", "The refund should appear within five business days.", cut, "You are welcome."}
	if !slices.Equal(agentSaid, want) {
		t.Errorf("the agent's turns %q, want %q", agentSaid, want)
	}
	full, err := synth.NewFlite().Synthesize(ctx, cut, "en", "")
	if err != nil {
		t.Fatal(err)
	}
	if custStart < cutStart || cutEnd > custStart+1000 || cutEnd-cutStart >= int64(len(full))*1000/session.Rate-500 {
		t.Errorf("the cut sentence played %d-%d ms (%d ms in full), the caller spoke from %d ms", cutStart, cutEnd, len(full)*1000/session.Rate, custStart)
	}
	// The model was told what the caller heard, and not the rest.
	reqs := srv.Requests()
	last := reqs[len(reqs)-1].Messages
	if n := len(last); n < 2 || last[n-2].Role != "assistant" || !strings.HasPrefix(last[n-2].Content, "The refund") ||
		strings.Contains(last[n-2].Content, "sunday") || last[n-1].Role != "user" {
		t.Errorf("last request %+v", last)
	}
}

// readyTranscript waits for an ended session's transcript.ready and
// returns the transcript.
func readyTranscript(ctx context.Context, t *testing.T, st *store.Store, m *session.Manager, sc store.Scope, id string) session.Transcript {
	t.Helper()
	// A sentence playing when the session ends may be stored just after
	// transcript.ready (docs/decisions.md): after the ready event, wait
	// until no event has come for a second.
	seen, still := -1, 0
	for ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
		evs, err := st.SessionEvents(ctx, id)
		if err != nil || !slices.ContainsFunc(evs, func(e store.Event) bool { return e.Type == session.EventTranscriptReady }) {
			continue
		}
		if len(evs) != seen {
			seen, still = len(evs), 0
			continue
		}
		if still++; still < 20 {
			continue
		}
		tr, err := m.Transcript(ctx, sc, id)
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	t.Fatal("no transcript.ready")
	return session.Transcript{}
}

// words counts how many of the words the text has.
func words(text string, want ...string) int {
	n := 0
	for _, w := range want {
		if strings.Contains(" "+text+" ", " "+w+" ") {
			n++
		}
	}
	return n
}
