package agentlink_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voxgate/voxgate/agentlink"
	"github.com/voxgate/voxgate/llm"
	"github.com/voxgate/voxgate/llm/llmtest"
	"github.com/voxgate/voxgate/media"
	"github.com/voxgate/voxgate/session"
	_ "github.com/voxgate/voxgate/speech/transcribe/pocketsphinx"
	"github.com/voxgate/voxgate/speech/transcribe/transcribetest"
	"github.com/voxgate/voxgate/store"
	"github.com/voxgate/voxgate/store/storetest"
)

// phone is the caller's side of a call: it says what it is given, in real
// time, and keeps what it hears.
type phone struct {
	id   string
	tick *time.Ticker
	done chan struct{}
	once sync.Once

	mu    sync.Mutex
	say   []int16
	heard []int16
}

func newPhone(id string) *phone {
	return &phone{id: id, tick: time.NewTicker(20 * time.Millisecond), done: make(chan struct{})}
}

func (p *phone) CallID() string           { return p.id }
func (p *phone) Speaker() session.Speaker { return session.SpeakerCustomer }
func (p *phone) Format() media.Format     { return media.PCM16(session.Rate) }
func (p *phone) Done() <-chan struct{}    { return p.done }
func (p *phone) Close(error) error        { p.once.Do(func() { p.tick.Stop(); close(p.done) }); return nil }
func (p *phone) speak(pcm []int16)        { p.mu.Lock(); p.say = append(p.say, pcm...); p.mu.Unlock() }
func (p *phone) WriteFrame(f media.Frame) error {
	p.mu.Lock()
	p.heard = append(p.heard, f.Samples...)
	p.mu.Unlock()
	return nil
}

func (p *phone) ReadFrame(f *media.Frame) error {
	select {
	case <-p.tick.C:
	case <-p.done:
		return errors.New("phone: hung up")
	}
	out := make([]int16, session.FrameSamples)
	p.mu.Lock()
	n := copy(out, p.say)
	p.say = p.say[n:]
	p.mu.Unlock()
	f.Samples = out
	return nil
}

// loudFrames counts the frames heard with speech in them, and the frames
// heard since the last of them.
func (p *phone) loudFrames() (loud, quiet int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := 0; i+session.FrameSamples <= len(p.heard); i += session.FrameSamples {
		var sum float64
		for _, v := range p.heard[i : i+session.FrameSamples] {
			sum += float64(v) * float64(v)
		}
		quiet++
		if sum/session.FrameSamples > 300*300 { // louder than -40 dBFS
			loud, quiet = loud+1, 0
		}
	}
	return loud, quiet
}

type turnMsg struct {
	Speaker, Text string
}

// TestAgentCall drives an ai_agent call from a phone leg: the caller hears
// the welcome, asks a question (transcribed by the gateway), the model
// calls a tool whose result a client returns, the answer is spoken until
// the caller speaks over it (barge-in), and the agent hangs up after the
// configured silence. What the agent said is checked from the gateway's
// own transcript of the agent side.
func TestAgentCall(t *testing.T) {
	sentences := transcribetest.Sentences(t)
	if _, ok := transcribetest.Continuous(t, sentences[0].File); !ok {
		t.Skip("pocketsphinx is not installed")
	}
	// The model: the first question calls the tool, its result gets a long
	// answer, anything after that a short one.
	srv := llmtest.Start(t, func(req llm.Request) llmtest.Reply {
		users := 0
		for _, m := range req.Messages {
			if m.Role == "user" {
				users++
			}
		}
		switch last := req.Messages[len(req.Messages)-1]; {
		case last.Role == "tool":
			return llmtest.Reply{Text: "The refund should appear within five business days. " +
				"On saturday the office opens at ten in the morning. On sunday the office is closed all day."}
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
	sup := agentlink.New(agentlink.Config{}, m, nil, nil)
	t.Cleanup(sup.Close)
	m.SetBotDialer(sup)
	m.SetToolResults(sup)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sc := store.Scope{OrgID: "org_test", Livemode: true}
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
	call, err := m.StartCall(ctx, s.ID, session.Call{Direction: "inbound", Transport: "webrtc", Speaker: session.SpeakerCustomer})
	if err != nil {
		t.Fatal(err)
	}
	ph := newPhone(call.ID)
	if err := m.AddLeg(ctx, s.ID, ph); err != nil {
		t.Fatal(err)
	}
	if err := m.CallAnswered(ctx, call.ID, "L16"); err != nil {
		t.Fatal(err)
	}

	// next waits for the session's next event of one of the types, or
	// until until (when not nil) holds; the agent side's final transcripts
	// are kept in agentSaid.
	var agentSaid []string
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
			case ev := <-client.Events():
				if ev.Type == session.EventTranscriptSegment {
					var seg struct{ Turn turnMsg }
					_ = json.Unmarshal(ev.Data, &seg)
					t.Logf("%s said %q", seg.Turn.Speaker, seg.Turn.Text)
					if seg.Turn.Speaker == "agent" {
						agentSaid = append(agentSaid, seg.Turn.Text)
					}
				}
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
	ph.speak(sentences[2].PCM) // "i would like to check the status of my order"
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
	before := len(agentSaid)
	if err := m.ToolResult(s.ID, tc.ID, `{"status":"refunded"}`); err != nil {
		t.Fatal(err)
	}

	// Three seconds into the answer, the caller speaks over it.
	next("the answer", func() bool { n, _ := ph.loudFrames(); return n >= loud+150 })
	ph.speak(sentences[16].PCM) // "thank you for your patience today"
	ended := next("the hangup", nil, session.EventSessionEnded)
	var sess session.Session
	if err := json.Unmarshal(ended.Data, &sess); err != nil || sess.EndReason == nil || *sess.EndReason != session.EndCallsEnded {
		t.Fatalf("session ended %s", ended.Data)
	}
	if words(strings.Join(agentSaid[:before], " "), "morning", "thank", "calling", "support", "line") < 3 {
		t.Errorf("the welcome was heard as %q", agentSaid[:before])
	}
	said := strings.Join(agentSaid[before:], " ")
	if words(said, "refund", "should", "appear", "within", "five", "business", "days") < 3 || words(said, "sunday", "closed") > 0 {
		t.Errorf("the agent said %q: want the answer's start, cut before its end", said)
	}
	// The model was told what the caller heard, and not the rest.
	reqs := srv.Requests()
	last := reqs[len(reqs)-1].Messages
	if n := len(last); n < 2 || last[n-2].Role != "assistant" || !strings.HasPrefix(last[n-2].Content, "The refund") ||
		strings.Contains(last[n-2].Content, "sunday") || last[n-1].Role != "user" {
		t.Errorf("last request %+v", last)
	}
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
