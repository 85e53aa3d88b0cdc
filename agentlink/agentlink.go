// Package agentlink runs the llm brains of agent-mode sessions in process
// (SPEC §7): when a session's call is answered, it joins the session as a
// client, turns its live transcription on, and drives an agent.Brain with
// the session's events — answered calls, the customer's partial and final
// transcripts — while the brain speaks through a Voice made of the speech
// synthesizer and the session's playback of synthesized speech.
package agentlink

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/voxgate/voxgate/agent"
	"github.com/voxgate/voxgate/llm"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/sessionrun"
	"github.com/voxgate/voxgate/speech/synth"
)

// Config tunes the supervisor. Zero values take the defaults.
type Config struct {
	// Synth speaks the agent's sentences. Default flite.
	Synth synth.Synthesizer
	// HTTP reaches the llm endpoints. Default http.DefaultClient.
	HTTP *http.Client
	// ToolTimeout is how long a tool result is waited for. Default 30 s.
	ToolTimeout time.Duration
	// Clock schedules the brains' timers (tests). Default the real one.
	Clock agent.Clock
}

// Supervisor starts and stops the brains. It is a session.BotDialer: a
// session whose agent has no llm is passed on to next (the stream_url bot
// dialer), and a session.ToolResults.
type Supervisor struct {
	cfg  Config
	m    *session.Manager
	next session.BotDialer
	log  *zap.Logger
	// running holds each session's brain (nil while starting).
	running *sessionrun.Group[*agent.Brain]
}

// New builds a supervisor; next may be nil.
func New(cfg Config, m *session.Manager, next session.BotDialer, log *zap.Logger) *Supervisor {
	if cfg.Synth == nil {
		cfg.Synth = synth.NewFlite()
	}
	if cfg.HTTP == nil {
		cfg.HTTP = http.DefaultClient
	}
	if log == nil {
		log = zap.NewNop()
	}
	return &Supervisor{cfg: cfg, m: m, next: next, log: log, running: sessionrun.NewGroup[*agent.Brain]()}
}

// StartBot starts the session's brain, once (session.BotDialer).
func (s *Supervisor) StartBot(sessionID string) {
	s.running.Go(sessionID, func(ctx context.Context) { s.run(ctx, sessionID) })
}

// ToolResult hands a tool result to the session's brain (session.ToolResults).
func (s *Supervisor) ToolResult(sessionID, toolCallID, result string) error {
	b := s.running.Get(sessionID)
	if b == nil {
		return session.ErrNoToolCall
	}
	if err := b.ToolResult(toolCallID, result); err != nil {
		return session.ErrNoToolCall
	}
	return nil
}

// Running counts the brains running or starting.
func (s *Supervisor) Running() int { return s.running.Len() }

// Close stops every brain and waits for them.
func (s *Supervisor) Close() { s.running.Close() }

// run drives one session's brain until the session ends.
func (s *Supervisor) run(ctx context.Context, sessionID string) {
	log := s.log.With(zap.String("session_id", sessionID))
	ab, ok, err := s.m.AgentBrain(ctx, sessionID)
	if err != nil || !ok {
		if err == nil && s.next != nil {
			s.next.StartBot(sessionID)
		} else if err != nil && !errors.Is(err, session.ErrEnded) {
			log.Warn("agent brain not started", zap.Error(err))
		}
		return
	}
	sub, err := s.m.Subscribe(ctx, sessionID, session.SubscribeOptions{AudioQueue: 1})
	if err != nil {
		log.Warn("agent brain could not join the session", zap.Error(err))
		return
	}
	defer sub.Close()
	s.m.Transcribe(sessionID)

	lang := ab.Language
	if lang == "" {
		lang = "en"
	}
	voice := &voice{m: s.m, id: sessionID, tts: s.cfg.Synth, lang: lang, name: ab.Voice, log: log}
	h := &host{m: s.m, ab: ab, log: log}
	cfg := agent.Config{Instructions: ab.Instructions, WelcomeMessage: ab.WelcomeMessage, Temperature: ab.Temperature,
		SilenceHangup: time.Duration(ab.HangupAfterSilenceSeconds) * time.Second, ToolTimeout: s.cfg.ToolTimeout, Clock: s.cfg.Clock}
	for _, t := range ab.Tools {
		cfg.Tools = append(cfg.Tools, llm.Tool{Type: "function", Function: llm.Function{Name: t.Name, Description: t.Description, Parameters: t.Parameters}})
	}
	brain := agent.New(cfg, &llm.Client{BaseURL: ab.LLM.BaseURL, Model: ab.LLM.Model, APIKey: ab.LLM.APIKey, HTTP: s.cfg.HTTP}, voice, h)
	defer brain.Close()
	s.running.Publish(sessionID, brain)

	ears := &listener{brain: brain}
	if s.m.Answered(sessionID) {
		ears.start()
	}
	var frame session.AudioFrame
	for {
		select {
		case <-sub.EventReady():
			for ev, ok := sub.NextEvent(); ok; ev, ok = sub.NextEvent() {
				if !ears.event(ev) {
					return
				}
			}
		case <-sub.AudioReady():
			for sub.NextAudio(&frame) { // the brain listens to transcripts, not audio
			}
		case <-sub.Done():
			return
		case <-ctx.Done():
			return
		}
	}
}

// listener tells a brain what the session's events say: the call was
// answered, the caller is speaking, the caller's turn. The brain hears
// transcripts, not audio.
type listener struct {
	brain   *agent.Brain
	started bool
	segment string // the customer's segment being spoken, for barge-in
}

// start starts the brain once.
func (l *listener) start() {
	if !l.started {
		l.started = true
		l.brain.Start()
	}
}

// event handles one session event; it is false once the session ended.
func (l *listener) event(ev session.Event) bool {
	switch ev.Type {
	case session.EventCallAnswered:
		l.start()
	case session.EventTranscriptPartial, session.EventTranscriptFinal:
		var t struct {
			SegmentID string `json:"segment_id"`
			Speaker   string `json:"speaker"`
			Text      string `json:"text"`
		}
		if json.Unmarshal(ev.Data, &t) != nil || t.Speaker != string(session.SpeakerCustomer) {
			return true
		}
		if ev.Type == session.EventTranscriptFinal {
			l.segment = ""
			l.brain.CustomerTurn(t.Text)
		} else if t.SegmentID != l.segment {
			l.segment = t.SegmentID
			l.brain.CallerSpeaking()
		}
	case session.EventSessionEnded:
		return false
	}
	return true
}

// voice speaks a brain's sentences to the caller as the agent side's
// synthesized source (session.Manager.Speak), and keeps each sentence it
// played, whole or cut short, in the transcript as an agent turn: the
// gateway does not transcribe synthesized speech.
type voice struct {
	m    *session.Manager
	id   string
	tts  synth.Synthesizer
	lang string
	name string
	log  *zap.Logger
}

// Say plays a sentence to the caller and returns when it has played
// (agent.Voice); a barge-in the session detects stops it with
// agent.ErrInterrupted.
func (v *voice) Say(ctx context.Context, sentence string) error {
	pcm, err := v.tts.Synthesize(ctx, sentence, v.lang, v.name)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := v.m.Speak(v.id, session.SpeakerCustomer, session.Synthesized, pcm)
	if err != nil {
		return err
	}
	select {
	case <-p.Done():
	case <-ctx.Done():
		p.Stop() // the brain's barge-in: Done is closed on return
	}
	v.said(sentence, p)
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case p.Interrupted():
		return agent.ErrInterrupted
	}
	return nil
}

// said stores a sentence that played, even in part, as the agent's turn
// at the media time it played.
func (v *voice) said(sentence string, p *session.Playback) {
	start, end := p.Span()
	if end <= start {
		return // never heard
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	t := session.Turn{Speaker: session.SpeakerAgent, Language: v.lang, Text: sentence, StartMS: start, EndMS: end, Confidence: 1}
	if _, err := v.m.AddTurn(ctx, v.id, t); err != nil {
		v.log.Warn("agent turn not stored", zap.Error(err))
	}
}

// host carries out what a brain asks of its session.
type host struct {
	m   *session.Manager
	ab  session.AgentBrain
	log *zap.Logger
}

// ToolCall reports the call as a tool.call event (stream and webhooks).
func (h *host) ToolCall(c llm.ToolCall) {
	args := json.RawMessage(c.Function.Arguments)
	if !json.Valid(args) {
		args, _ = json.Marshal(c.Function.Arguments)
	}
	data := map[string]any{"session_id": h.ab.SessionID, "tool_call_id": c.ID, "name": c.Function.Name, "arguments": args}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.m.Emit(ctx, h.ab.SessionID, session.EventToolCall, data); err != nil {
		h.log.Warn("tool.call not sent", zap.Error(err))
	}
}

// Hangup ends the call: the legs are hung up after silence (the session
// then ends with calls_ended); the session ends with max_duration.
func (h *host) Hangup(reason string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h.log.Info("agent hangs up", zap.String("reason", reason))
	if reason == agent.ReasonSilence {
		if calls, err := h.m.Hangup(ctx, h.ab.Scope, h.ab.SessionID, ""); err == nil && len(calls) > 0 {
			return
		}
	}
	if _, err := h.m.End(ctx, h.ab.Scope, h.ab.SessionID, session.EndExplicit); err != nil {
		h.log.Warn("agent hangup failed", zap.Error(err))
	}
}

// Failed reports a failing endpoint or voice as session.error.
func (h *host) Failed(err error) {
	h.log.Warn("agent brain failed", zap.Error(err))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	data := map[string]any{"session_id": h.ab.SessionID, "code": ErrCodeAgentFailed, "message": err.Error()}
	if err := h.m.Emit(ctx, h.ab.SessionID, "session.error", data); err != nil {
		h.log.Warn("session.error not sent", zap.Error(err))
	}
}

// ErrCodeAgentFailed is the session.error code of a failing llm endpoint
// or agent voice.
const ErrCodeAgentFailed = "agent_failed"
