package agent_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voxgate/voxgate/agent"
	"github.com/voxgate/voxgate/llm"
	"github.com/voxgate/voxgate/llm/llmtest"
	"github.com/voxgate/voxgate/speech/synth"
)

// manualClock fires timers when the test advances it.
type manualClock struct {
	mu     sync.Mutex
	now    time.Duration
	timers []*manualTimer
}

type manualTimer struct {
	c    *manualClock
	at   time.Duration
	f    func()
	done bool
}

func (c *manualClock) AfterFunc(d time.Duration, f func()) agent.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &manualTimer{c: c, at: c.now + d, f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *manualTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.done
	t.done = true
	return was
}

// Advance moves time on and runs the timers that came due.
func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now += d
	var due []*manualTimer
	for _, t := range c.timers {
		if !t.done && t.at <= c.now {
			t.done = true
			due = append(due, t)
		}
	}
	c.mu.Unlock()
	for _, t := range due {
		t.f()
	}
}

// armed counts the timers waiting.
func (c *manualClock) armed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if !t.done {
			n++
		}
	}
	return n
}

// fliteVoice synthesizes each sentence with flite, as the session's agent
// source would, and "plays" it: at once, or, when hold is set, until the
// test releases it or the brain cuts it.
type fliteVoice struct {
	tts  *synth.Flite
	hold chan struct{}
	// interrupt, when set, makes the sentence with this text end as a
	// playback the caller spoke over ends.
	interrupt string

	mu      sync.Mutex
	said    []string
	samples int
	cut     []string
}

func (v *fliteVoice) Say(ctx context.Context, sentence string) error {
	pcm, err := v.tts.Synthesize(ctx, sentence, "en", "")
	if err != nil {
		return err
	}
	v.mu.Lock()
	v.said = append(v.said, sentence)
	v.samples += len(pcm)
	v.mu.Unlock()
	if sentence == v.interrupt {
		return agent.ErrInterrupted
	}
	if v.hold == nil {
		return nil
	}
	select {
	case <-v.hold:
		return nil
	case <-ctx.Done():
		v.mu.Lock()
		v.cut = append(v.cut, sentence)
		v.mu.Unlock()
		return ctx.Err()
	}
}

func (v *fliteVoice) sentences() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.said)
}

// host records what the brain asks of the session.
type host struct {
	mu      sync.Mutex
	calls   []llm.ToolCall
	hangups []string
	errs    []error
}

func (h *host) ToolCall(c llm.ToolCall) { h.mu.Lock(); h.calls = append(h.calls, c); h.mu.Unlock() }
func (h *host) Hangup(r string)         { h.mu.Lock(); h.hangups = append(h.hangups, r); h.mu.Unlock() }
func (h *host) Failed(err error)        { h.mu.Lock(); h.errs = append(h.errs, err); h.mu.Unlock() }

func (h *host) snapshot() ([]llm.ToolCall, []string, []error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.calls), slices.Clone(h.hangups), slices.Clone(h.errs)
}

// eventually waits for cond (the brain works in the background).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 1000 {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// same compares messages without tool calls.
func same(a, b llm.Message) bool {
	return a.Role == b.Role && a.Content == b.Content && a.ToolCallID == b.ToolCallID && len(a.ToolCalls) == len(b.ToolCalls)
}

func lastUser(req llm.Request) llm.Message { return req.Messages[len(req.Messages)-1] }

func TestWelcomeAnswerAndSilenceHangup(t *testing.T) {
	srv := llmtest.Start(t, func(req llm.Request) llmtest.Reply {
		if strings.Contains(lastUser(req).Content, "order") {
			return llmtest.Reply{Text: "Your order ships today. It arrives on Friday.", PieceLen: 6}
		}
		return llmtest.Reply{Text: "Sorry, I did not get that."}
	})
	clock := &manualClock{}
	voice := &fliteVoice{tts: synth.NewFlite()}
	h := &host{}
	b := agent.New(agent.Config{Instructions: "You are the support line.", WelcomeMessage: "Hello, thank you for calling. How can I help?",
		SilenceHangup: 10 * time.Second, Clock: clock}, &llm.Client{BaseURL: srv.BaseURL(), Model: "m"}, voice, h)
	defer b.Close()

	b.Start()
	eventually(t, "the welcome", func() bool { return len(voice.sentences()) == 2 && clock.armed() == 1 })
	b.CustomerTurn("Where is my order?")
	eventually(t, "the answer", func() bool { return len(voice.sentences()) == 4 && clock.armed() == 1 })
	want := []string{"Hello, thank you for calling.", "How can I help?", "Your order ships today.", "It arrives on Friday."}
	if got := voice.sentences(); !slices.Equal(got, want) {
		t.Fatalf("spoken %q, want %q", got, want)
	}
	if voice.samples < synth.Rate*2 { // four sentences of speech: seconds of audio
		t.Errorf("flite produced %d samples", voice.samples)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d completions, want 1", len(reqs))
	}
	msgs := reqs[0].Messages
	if len(msgs) != 3 || msgs[0].Role != "system" || msgs[0].Content != "You are the support line." ||
		msgs[1].Role != "assistant" || !same(msgs[2], llm.Message{Role: "user", Content: "Where is my order?"}) {
		t.Fatalf("messages %+v", msgs)
	}

	clock.Advance(9 * time.Second)
	if _, hangups, _ := h.snapshot(); len(hangups) != 0 {
		t.Fatalf("hung up after 9 s: %v", hangups)
	}
	b.CallerSpeaking() // a noise: no silence while it lasts, then it starts over
	clock.Advance(20 * time.Second)
	b.CustomerTurn("")
	clock.Advance(9 * time.Second)
	if _, hangups, _ := h.snapshot(); len(hangups) != 0 {
		t.Fatalf("hung up while or 9 s after the caller spoke: %v", hangups)
	}
	clock.Advance(time.Second)
	if _, hangups, errs := h.snapshot(); !slices.Equal(hangups, []string{agent.ReasonSilence}) || len(errs) != 0 {
		t.Fatalf("hangups %v, errors %v", hangups, errs)
	}
}

func TestToolCallRoundTrip(t *testing.T) {
	srv := llmtest.Start(t, func(req llm.Request) llmtest.Reply {
		if m := lastUser(req); m.Role == "tool" {
			return llmtest.Reply{Text: "Order 42 is " + strings.Trim(strings.TrimPrefix(m.Content, `{"status":`), `"}`) + "."}
		}
		return llmtest.Reply{Text: "Let me check.", ToolCalls: []llm.ToolCall{{ID: "call_a", Type: "function",
			Function: llm.FunctionCall{Name: "lookup_order", Arguments: `{"order_id":"42"}`}}}}
	})
	voice := &fliteVoice{tts: synth.NewFlite()}
	h := &host{}
	tools := []llm.Tool{{Type: "function", Function: llm.Function{Name: "lookup_order", Parameters: []byte(`{"type":"object"}`)}}}
	b := agent.New(agent.Config{Instructions: "Help.", Tools: tools, Clock: &manualClock{}}, &llm.Client{BaseURL: srv.BaseURL(), Model: "m"}, voice, h)
	defer b.Close()
	b.Start()
	b.CustomerTurn("Where is order 42?")
	eventually(t, "the tool call", func() bool { c, _, _ := h.snapshot(); return len(c) == 1 })
	calls, _, _ := h.snapshot()
	if calls[0].ID != "call_a" || calls[0].Function.Name != "lookup_order" || calls[0].Function.Arguments != `{"order_id":"42"}` {
		t.Fatalf("tool call %+v", calls[0])
	}
	if err := b.ToolResult("call_nope", "{}"); !errors.Is(err, agent.ErrUnknownToolCall) {
		t.Fatalf("unknown call: %v", err)
	}
	if err := b.ToolResult("call_a", `{"status":"shipped"}`); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the answer", func() bool { return len(voice.sentences()) == 2 })
	if got := voice.sentences(); got[0] != "Let me check." || got[1] != "Order 42 is shipped." {
		t.Fatalf("spoken %q", got)
	}
	reqs := srv.Requests()
	second := reqs[1].Messages
	if n := len(second); n != 4 || second[2].ToolCalls[0].ID != "call_a" ||
		!same(second[3], llm.Message{Role: "tool", ToolCallID: "call_a", Content: `{"status":"shipped"}`}) {
		t.Fatalf("second request %+v", second)
	}
	if len(reqs[0].Tools) != 1 {
		t.Fatalf("tools not sent: %+v", reqs[0].Tools)
	}
}

func TestBargeInStopsSpeech(t *testing.T) {
	srv := llmtest.Start(t, func(req llm.Request) llmtest.Reply {
		if strings.Contains(lastUser(req).Content, "hours") {
			return llmtest.Reply{Text: "We are open from nine to five. On Saturdays we open at ten. On Sundays we are closed."}
		}
		return llmtest.Reply{Text: "Sure."}
	})
	clock := &manualClock{}
	voice := &fliteVoice{tts: synth.NewFlite(), hold: make(chan struct{})}
	h := &host{}
	b := agent.New(agent.Config{Instructions: "Help.", Clock: clock},
		&llm.Client{BaseURL: srv.BaseURL(), Model: "m"}, voice, h)
	defer b.Close()
	b.Start()
	b.CustomerTurn("What are your hours?")
	eventually(t, "the first sentence", func() bool { return len(voice.sentences()) == 1 })
	b.CallerSpeaking()
	eventually(t, "the cut", func() bool { voice.mu.Lock(); defer voice.mu.Unlock(); return len(voice.cut) == 1 })
	b.CustomerTurn("Thanks")
	eventually(t, "the next answer", func() bool { return len(srv.Requests()) == 2 && len(voice.sentences()) == 2 })
	if got := voice.sentences(); !slices.Equal(got, []string{"We are open from nine to five.", "Sure."}) {
		t.Fatalf("spoken %q: the agent went on after the barge-in", got)
	}
	// The model is told only what the caller heard.
	msgs := srv.Requests()[1].Messages
	if !same(msgs[2], llm.Message{Role: "assistant", Content: "We are open from nine to five."}) {
		t.Fatalf("history after barge-in %+v", msgs)
	}
	close(voice.hold)
}

func TestFailingEndpointIsReported(t *testing.T) {
	srv := llmtest.Start(t, func(req llm.Request) llmtest.Reply { return llmtest.Reply{Text: "This will be cut off.", DieAfter: 2} })
	clock := &manualClock{}
	voice := &fliteVoice{tts: synth.NewFlite()}
	h := &host{}
	b := agent.New(agent.Config{SilenceHangup: 5 * time.Second, Clock: clock}, &llm.Client{BaseURL: srv.BaseURL(), Model: "m"}, voice, h)
	defer b.Close()
	b.Start()
	b.CustomerTurn("Hello?")
	eventually(t, "the failure", func() bool { _, _, errs := h.snapshot(); return len(errs) == 1 && clock.armed() == 1 })
	if _, _, errs := h.snapshot(); !errors.Is(errs[0], llm.ErrIncomplete) {
		t.Fatalf("error %v", errs[0])
	}
	clock.Advance(5 * time.Second) // a broken brain still hangs up on silence
	if _, hangups, _ := h.snapshot(); !slices.Equal(hangups, []string{agent.ReasonSilence}) {
		t.Fatalf("hangups %v", hangups)
	}
}

func TestSpeechInterruptedByThePlayback(t *testing.T) {
	srv := llmtest.Start(t, func(req llm.Request) llmtest.Reply {
		return llmtest.Reply{Text: "We are open from nine to five. On Saturdays we open at ten. On Sundays we are closed."}
	})
	clock := &manualClock{}
	voice := &fliteVoice{tts: synth.NewFlite(), interrupt: "On Saturdays we open at ten."}
	h := &host{}
	b := agent.New(agent.Config{SilenceHangup: 5 * time.Second, Clock: clock}, &llm.Client{BaseURL: srv.BaseURL(), Model: "m"}, voice, h)
	defer b.Close()
	b.Start()
	b.CustomerTurn("What are your hours?")
	eventually(t, "the cut", func() bool { return len(voice.sentences()) == 2 && len(b.History()) == 2 })
	if h := b.History(); h[1].Content != "We are open from nine to five. On Saturdays we open at ten." {
		t.Fatalf("history %+v", h)
	}
	clock.Advance(time.Minute) // the caller is speaking: no silence hangup
	if _, hangups, errs := h.snapshot(); len(hangups) != 0 || len(errs) != 0 {
		t.Fatalf("hangups %v, errors %v", hangups, errs)
	}
	if got := voice.sentences(); len(got) != 2 {
		t.Fatalf("spoken %q after the interruption", got)
	}
}
