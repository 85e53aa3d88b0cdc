package session

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/voxgate/voxgate/store"
)

// EventToolCall reports that an agent's llm brain calls one of its tools
// (SPEC §3 agents, §7); a client answers with a tool.result message.
const EventToolCall = "tool.call"

// ErrNoToolCall means a tool result names no call an agent is waiting for.
var ErrNoToolCall = errors.New("session: no tool call with that id is waiting")

// ToolResults takes the tool results clients send for the brains that run
// in this process (agentlink.Supervisor).
type ToolResults interface {
	ToolResult(sessionID, toolCallID, result string) error
}

// SetToolResults registers where tool.result messages go.
func (m *Manager) SetToolResults(t ToolResults) { m.tools.Store(&t) }

// ToolResult hands a client's tool.result to the session's brain.
func (m *Manager) ToolResult(sessionID, toolCallID, result string) error {
	t := m.tools.Load()
	if t == nil {
		return ErrNoToolCall
	}
	return (*t).ToolResult(sessionID, toolCallID, result)
}

// AgentBrain is what an in-process brain needs to run a session's agent:
// the agent with the session's ai_agent overrides applied, and its llm
// endpoint with the key.
type AgentBrain struct {
	SessionID      string
	Scope          store.Scope
	Instructions   string
	WelcomeMessage string
	Voice          string
	Language       string
	Temperature    *float64
	Tools          []Tool
	LLM            LLM // APIKey set when the agent has one
	// HangupAfterSilenceSeconds is 0 when unset. (max_duration_seconds is
	// the session's: the live session ends itself.)
	HangupAfterSilenceSeconds int
}

// aiAgentOverrides are the fields of a session's ai_agent object that
// change its agent for that session (Kallglot's names and voxgate's).
type aiAgentOverrides struct {
	SystemPrompt   *string  `json:"system_prompt"`
	Instructions   *string  `json:"instructions"`
	WelcomeMessage *string  `json:"welcome_message"`
	Voice          *string  `json:"voice"`
	Temperature    *float64 `json:"temperature"`
	Tools          *[]Tool  `json:"tools"`
}

// AgentBrain returns the llm brain of an agent-mode session that has not
// ended; ok is false when the session's agent has no llm or the session
// has a stream_url bot instead.
func (m *Manager) AgentBrain(ctx context.Context, sessionID string) (b AgentBrain, ok bool, err error) {
	rec, err := m.store.Lookup(ctx, store.Sessions, sessionID)
	if errors.Is(err, store.ErrNotFound) {
		return AgentBrain{}, false, ErrNotFound
	}
	if err != nil {
		return AgentBrain{}, false, err
	}
	s, err := decodeSession(rec)
	if err != nil {
		return AgentBrain{}, false, err
	}
	if s.Ended() {
		return AgentBrain{}, false, ErrEnded
	}
	if !s.Mode.IsAgentMode() || s.AgentID == nil || s.BotStreamURL != nil {
		return AgentBrain{}, false, nil
	}
	a, err := m.agent(ctx, rec.Scope, *s.AgentID)
	if errors.Is(err, ErrNotFound) {
		return AgentBrain{}, false, nil // deleted since: no brain
	}
	if err != nil || a.LLM == nil {
		return AgentBrain{}, false, err
	}
	b = AgentBrain{SessionID: sessionID, Scope: rec.Scope, Instructions: a.Instructions, WelcomeMessage: a.WelcomeMessage,
		Voice: a.Voice, Language: a.Language, Temperature: a.Temperature, Tools: a.Tools, LLM: *a.LLM,
		HangupAfterSilenceSeconds: a.HangupAfterSilenceSeconds}
	b.LLM.APIKey = a.LLMAPIKey
	if len(s.AIAgent) > 0 {
		var o aiAgentOverrides
		if err := json.Unmarshal(s.AIAgent, &o); err == nil {
			for _, v := range []*string{o.SystemPrompt, o.Instructions} {
				if v != nil {
					b.Instructions = *v
				}
			}
			if o.WelcomeMessage != nil {
				b.WelcomeMessage = *o.WelcomeMessage
			}
			if o.Voice != nil {
				b.Voice = *o.Voice
			}
			if o.Temperature != nil {
				b.Temperature = o.Temperature
			}
			if o.Tools != nil {
				b.Tools = *o.Tools
			}
		}
	}
	return b, true, nil
}

// Transcribe makes a live session transcribe what each side says, as a
// transcription session does (an agent session whose brain needs the
// customer's turns). It does nothing when the session is not live on this
// node or transcribes already.
func (m *Manager) Transcribe(sessionID string) {
	l := m.lookupLive(sessionID)
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tr == nil && !l.stopped {
		l.tr = l.newTranscriber()
	}
}

// Answered reports whether a call leg of the session has been answered on
// this node.
func (m *Manager) Answered(sessionID string) bool {
	l := m.lookupLive(sessionID)
	return l != nil && l.answered.Load()
}

// AgentLLM returns an agent's llm endpoint with its key; ok is false when
// the agent has none (or no longer exists).
func (m *Manager) AgentLLM(ctx context.Context, sc store.Scope, agentID string) (l LLM, ok bool, err error) {
	a, err := m.agent(ctx, sc, agentID)
	if errors.Is(err, ErrNotFound) {
		return LLM{}, false, nil
	}
	if err != nil || a.LLM == nil {
		return LLM{}, false, err
	}
	l = *a.LLM
	l.APIKey = a.LLMAPIKey
	return l, true, nil
}
