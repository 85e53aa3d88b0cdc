// Package agent is the brain of an agent with an `llm` endpoint (SPEC §7,
// ai_agent and help_chat_voice): it keeps the conversation, answers each
// final customer turn with a streamed chat completion spoken sentence by
// sentence, round-trips tool calls, speaks the welcome message, stops on
// barge-in, and hangs up after silence or at the maximum duration.
//
// It speaks through a Voice (the session's synthesized agent source) and
// reports to a Host (the session): both are interfaces, so the brain runs
// the same against a test voice and against the live session.
package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/voxgate/voxgate/llm"
)

// Voice speaks for the agent.
type Voice interface {
	// Say synthesizes the sentence and plays it to the caller. It returns
	// once the sentence has played to the end, or as soon as ctx ends: then
	// the sentence's audio must stop at once (barge-in). A playback that
	// stops by itself because the caller spoke over it returns
	// ErrInterrupted.
	Say(ctx context.Context, sentence string) error
}

// ErrInterrupted is what a Voice returns when the caller's speech stopped
// the sentence (barge-in detected by the playback): the brain stops its
// reply as it does on CallerSpeaking.
var ErrInterrupted = errors.New("agent: speech interrupted by the caller")

// Host is the session around the brain.
type Host interface {
	// ToolCall reports that the model calls a tool (the tool.call event);
	// the result comes back through Brain.ToolResult.
	ToolCall(call llm.ToolCall)
	// Hangup ends the call: reason is ReasonSilence. (The session itself
	// ends at the agent's max_duration_seconds.)
	Hangup(reason string)
	// Failed reports a failing LLM endpoint or voice (session.error).
	Failed(err error)
}

// ReasonSilence is why the brain hangs up after hangup_after_silence_seconds.
const ReasonSilence = "silence"

// Clock schedules the brain's timers (tests inject a manual one).
type Clock interface {
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a scheduled call that can be cancelled.
type Timer interface{ Stop() bool }

type realClock struct{}

func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Config is what the brain is told about its agent.
type Config struct {
	Instructions   string // the system message
	WelcomeMessage string // spoken on answer when not empty
	Tools          []llm.Tool
	Temperature    *float64
	// SilenceHangup hangs up after this long with nobody speaking (0: never).
	SilenceHangup time.Duration
	// ToolTimeout is how long a tool result is waited for; the model is then
	// told the tool timed out. Default 30 s.
	ToolTimeout time.Duration
	// MaxToolRounds bounds completions per customer turn. Default 4.
	MaxToolRounds int
	// Clock defaults to the real one.
	Clock Clock
}

// ErrUnknownToolCall means a tool result names no call being waited for.
var ErrUnknownToolCall = errors.New("agent: no tool call with that id is waiting")

// Brain is one call's agent. Its methods are safe for concurrent use.
type Brain struct {
	cfg   Config
	model *llm.Client
	voice Voice
	host  Host
	root  context.Context
	stop  context.CancelFunc
	wg    sync.WaitGroup

	mu         sync.Mutex
	history    []llm.Message
	turn       *turn // the reply in progress; nil while idle
	silence    Timer
	silenceGen int
	results    map[string]chan string
	calls      int
	closed     bool
}

// turn is one reply: the completions and speech answering a customer turn
// (or the welcome message).
type turn struct {
	ctx    context.Context
	cancel context.CancelFunc
	said   []string // sentences started but not yet in the history
}

// New builds a brain; Start begins the call.
func New(cfg Config, model *llm.Client, voice Voice, host Host) *Brain {
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	if cfg.ToolTimeout <= 0 {
		cfg.ToolTimeout = 30 * time.Second
	}
	if cfg.MaxToolRounds <= 0 {
		cfg.MaxToolRounds = 4
	}
	b := &Brain{cfg: cfg, model: model, voice: voice, host: host, results: map[string]chan string{}}
	b.root, b.stop = context.WithCancel(context.Background())
	return b
}

// Start is called when the call is answered: the maximum duration starts,
// and the welcome message is spoken (or the silence timer starts).
func (b *Brain) Start() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	if b.cfg.WelcomeMessage == "" {
		b.armSilence()
		return
	}
	welcome := b.cfg.WelcomeMessage
	b.startTurn(func(t *turn) {
		var sp splitter
		b.speak(t, append(sp.add(welcome), sp.flush()...))
		b.mu.Lock()
		if b.turn == t && t.ctx.Err() == nil {
			b.history = append(b.history, llm.Message{Role: "assistant", Content: welcome})
			t.said = nil
		}
		b.mu.Unlock()
	})
}

// CallerSpeaking is called when the caller starts to speak: the agent
// stops talking (barge-in), and there is no silence until the caller's
// turn ends (CustomerTurn).
func (b *Brain) CallerSpeaking() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.cancelTurn()
	b.disarmSilence()
}

// CustomerTurn answers a final customer turn. An empty one (noise) only
// restarts the silence timer.
func (b *Brain) CustomerTurn(text string) {
	text = strings.TrimSpace(text)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	if text == "" {
		if b.turn == nil {
			b.armSilence()
		}
		return
	}
	b.cancelTurn()
	b.history = append(b.history, llm.Message{Role: "user", Content: text})
	b.startTurn(b.reply)
}

// ToolResult delivers the result of a tool call reported through
// Host.ToolCall (the stream's tool.result message).
func (b *Brain) ToolResult(callID, result string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	ch, ok := b.results[callID]
	if !ok {
		return ErrUnknownToolCall
	}
	delete(b.results, callID)
	ch <- result
	return nil
}

// History returns the conversation so far (without the system message).
func (b *Brain) History() []llm.Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]llm.Message(nil), b.history...)
}

// Close stops the brain (the call ended) and waits for its work to stop.
func (b *Brain) Close() {
	b.mu.Lock()
	b.closed = true
	b.cancelTurn()
	b.disarmSilence()
	b.mu.Unlock()
	b.stop()
	b.wg.Wait()
}

// startTurn runs a reply in the background. b.mu is held.
func (b *Brain) startTurn(run func(t *turn)) {
	b.disarmSilence()
	ctx, cancel := context.WithCancel(b.root)
	t := &turn{ctx: ctx, cancel: cancel}
	b.turn = t
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		defer cancel()
		run(t)
		b.mu.Lock()
		if b.turn == t {
			b.turn = nil
			b.armSilence()
		}
		b.mu.Unlock()
	}()
}

// cancelTurn stops the reply in progress and keeps what was said of it in
// the history. b.mu is held.
func (b *Brain) cancelTurn() {
	t := b.turn
	if t == nil {
		return
	}
	t.cancel()
	if len(t.said) > 0 {
		b.history = append(b.history, llm.Message{Role: "assistant", Content: strings.Join(t.said, " ")})
		t.said = nil
	}
	b.turn = nil
}

// armSilence (re)starts the silence timer. b.mu is held.
func (b *Brain) armSilence() {
	b.disarmSilence()
	if b.cfg.SilenceHangup <= 0 || b.closed {
		return
	}
	gen := b.silenceGen
	b.silence = b.cfg.Clock.AfterFunc(b.cfg.SilenceHangup, func() {
		b.mu.Lock()
		fire := gen == b.silenceGen && b.turn == nil && !b.closed
		b.mu.Unlock()
		if fire {
			b.host.Hangup(ReasonSilence)
		}
	})
}

func (b *Brain) disarmSilence() {
	b.silenceGen++
	if b.silence != nil {
		b.silence.Stop()
		b.silence = nil
	}
}

// speak says the sentences in order until the turn is cancelled.
func (b *Brain) speak(t *turn, sentences []string) {
	for _, s := range sentences {
		if !b.sayOne(t, s) {
			return
		}
	}
}

// sayOne says a sentence; false when the turn was cancelled.
func (b *Brain) sayOne(t *turn, s string) bool {
	b.mu.Lock()
	if t.ctx.Err() != nil {
		b.mu.Unlock()
		return false
	}
	t.said = append(t.said, s)
	b.mu.Unlock()
	err := b.voice.Say(t.ctx, s)
	if errors.Is(err, ErrInterrupted) {
		b.mu.Lock()
		if b.turn == t {
			b.cancelTurn()
			b.disarmSilence() // the caller is speaking: their turn ends it
		}
		b.mu.Unlock()
		return false
	}
	if err != nil && t.ctx.Err() == nil {
		b.host.Failed(fmt.Errorf("agent voice: %w", err))
	}
	return t.ctx.Err() == nil
}

// reply answers the conversation: a streamed completion whose sentences
// are spoken while it streams, then tool calls and another completion,
// up to MaxToolRounds.
func (b *Brain) reply(t *turn) {
	for round := 1; ; round++ {
		b.mu.Lock()
		msgs := append([]llm.Message{{Role: "system", Content: b.cfg.Instructions}}, b.history...)
		b.mu.Unlock()
		req := llm.Request{Messages: msgs, Temperature: b.cfg.Temperature}
		if round <= b.cfg.MaxToolRounds {
			req.Tools = b.cfg.Tools
		}

		sentences := make(chan string, 16)
		spoken := make(chan struct{})
		go func() {
			defer close(spoken)
			for s := range sentences {
				if !b.sayOne(t, s) {
					for range sentences { // drain: the stream stops on its own
					}
					return
				}
			}
		}()
		var sp splitter
		queue := func(ss []string) {
			for _, s := range ss {
				select {
				case sentences <- s:
				case <-t.ctx.Done():
					return
				}
			}
		}
		rep, err := b.model.Stream(t.ctx, req, func(piece string) { queue(sp.add(piece)) })
		if err == nil {
			queue(sp.flush())
		}
		close(sentences)
		<-spoken
		if t.ctx.Err() != nil {
			return
		}
		if err != nil {
			b.host.Failed(fmt.Errorf("agent llm: %w", err))
			return
		}

		b.mu.Lock()
		if b.turn != t {
			b.mu.Unlock()
			return
		}
		for i := range rep.ToolCalls {
			if rep.ToolCalls[i].ID == "" {
				b.calls++
				rep.ToolCalls[i].ID = fmt.Sprintf("call_%d", b.calls)
			}
		}
		b.history = append(b.history, llm.Message{Role: "assistant", Content: rep.Content, ToolCalls: rep.ToolCalls})
		t.said = nil
		b.mu.Unlock()
		if len(rep.ToolCalls) == 0 || round > b.cfg.MaxToolRounds {
			return
		}
		results, ok := b.callTools(t, rep.ToolCalls)
		if !ok {
			return
		}
		b.mu.Lock()
		if b.turn != t {
			b.mu.Unlock()
			return
		}
		b.history = append(b.history, results...)
		b.mu.Unlock()
	}
}

// callTools reports the calls and waits for their results (or the tool
// timeout); false when the turn was cancelled meanwhile.
func (b *Brain) callTools(t *turn, calls []llm.ToolCall) ([]llm.Message, bool) {
	chans := make([]chan string, len(calls))
	b.mu.Lock()
	for i, c := range calls {
		chans[i] = make(chan string, 1)
		b.results[c.ID] = chans[i]
	}
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		for _, c := range calls {
			delete(b.results, c.ID)
		}
		b.mu.Unlock()
	}()
	for _, c := range calls {
		b.host.ToolCall(c)
	}
	timedOut := make(chan struct{})
	timer := b.cfg.Clock.AfterFunc(b.cfg.ToolTimeout, func() { close(timedOut) })
	defer timer.Stop()
	out := make([]llm.Message, len(calls))
	for i, c := range calls {
		select {
		case r := <-chans[i]: // a result that came in time wins over the timeout
			out[i] = llm.Message{Role: "tool", ToolCallID: c.ID, Content: r}
			continue
		default:
		}
		select {
		case r := <-chans[i]:
			out[i] = llm.Message{Role: "tool", ToolCallID: c.ID, Content: r}
		case <-timedOut:
			out[i] = llm.Message{Role: "tool", ToolCallID: c.ID, Content: `{"error":"the tool did not answer in time"}`}
		case <-t.ctx.Done():
			return nil, false
		}
	}
	return out, true
}
