// Package session owns the life of a voxgate session: its creation, the
// state machine created → active → ended with an end reason, its stream
// tokens, the idle timeout, and the agents and phone numbers that configure
// sessions. Every state change is stored together with the event that
// reports it (the outbox the webhook deliverer reads).
//
// Live media (legs, mixing, subscribers) joins this package in later work;
// it never imports the protocol packages (sip, rtc, stream) or api.
package session

import (
	"encoding/json"
	"time"
)

// Mode is what a session does with its audio.
type Mode string

// The session modes of SPEC §3.
const (
	ModeBidirectionalTranslation Mode = "bidirectional_translation"
	ModeAssistiveTranslation     Mode = "assistive_translation"
	ModeAIAgent                  Mode = "ai_agent"
	ModeHelpChatVoice            Mode = "help_chat_voice"
	ModeTranscription            Mode = "transcription"
	ModeMediaStream              Mode = "media_stream"
)

// Modes lists every mode, in documentation order.
var Modes = []Mode{ModeBidirectionalTranslation, ModeAssistiveTranslation, ModeAIAgent, ModeHelpChatVoice, ModeTranscription, ModeMediaStream}

// IsAgentMode reports whether the mode's agent side is a bot or an LLM.
func (m Mode) IsAgentMode() bool { return m == ModeAIAgent || m == ModeHelpChatVoice }

// Status is where a session is in its life.
type Status string

// Session statuses.
const (
	StatusCreated Status = "created"
	StatusActive  Status = "active"
	StatusEnded   Status = "ended"
)

// EndReason says why a session ended (SPEC §2).
type EndReason string

// End reasons.
const (
	EndExplicit    EndReason = "explicit_end"
	EndCallsEnded  EndReason = "calls_ended"
	EndIdleTimeout EndReason = "idle_timeout"
	EndMaxDuration EndReason = "max_duration"
	EndShutdown    EndReason = "shutdown"
	EndError       EndReason = "error"
	// EndNodeLost: the node that ran the session's media stopped answering
	// (cluster mode); a surviving node ended it.
	EndNodeLost EndReason = "node_lost"
)

// Session is a session as the API shows it.
type Session struct {
	ID              string          `json:"id"`
	Object          string          `json:"object"`
	Livemode        bool            `json:"livemode"`
	Status          Status          `json:"status"`
	Mode            Mode            `json:"mode"`
	Provider        *string         `json:"provider"`
	PhoneNumber     *string         `json:"phone_number,omitempty"`
	SourceLanguage  *string         `json:"source_language"`
	TargetLanguage  *string         `json:"target_language"`
	AgentID         *string         `json:"agent_id"`
	AIAgent         json.RawMessage `json:"ai_agent,omitempty"`
	Routing         *Routing        `json:"routing"`
	Stream          Stream          `json:"stream"`
	SIPURI          string          `json:"sip_uri"`
	Recording       Recording       `json:"recording"`
	Metadata        json.RawMessage `json:"metadata"`
	WebhookURL      *string         `json:"webhook_url"`
	WebhookSecret   string          `json:"webhook_secret,omitempty"` // only in the create response
	BotStreamURL    *string         `json:"stream_url"`
	BotProtocol     *string         `json:"stream_protocol"`
	CreatedAt       time.Time       `json:"created_at"`
	StartedAt       *time.Time      `json:"started_at"`
	EndedAt         *time.Time      `json:"ended_at"`
	DurationSeconds *float64        `json:"duration_seconds"`
	EndReason       *EndReason      `json:"end_reason"`
}

// Stream tells a client where to connect the session's WebSocket. Token is
// present only when it was just minted (tokens are stored hashed).
type Stream struct {
	URL       string     `json:"url"`
	Token     string     `json:"token,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// Recording is a session's recording setting.
type Recording struct {
	Enabled  bool   `json:"enabled"`
	Channels string `json:"channels"` // mixed or dual
}

// Routing says how calls reach a session (SPEC §3).
type Routing struct {
	Type         string      `json:"type,omitempty"` // "sip" or empty
	SIP          *SIPRouting `json:"sip,omitempty"`
	PhoneNumber  string      `json:"phone_number,omitempty"`
	Direction    string      `json:"direction,omitempty"` // inbound or outbound
	ConnectionID string      `json:"connection_id,omitempty"`
}

// SIPRouting carries the SIP details of a sip routing.
type SIPRouting struct {
	FromURI string            `json:"from_uri,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
}

// stored is what the store keeps for a session: the API view plus the
// secrets that are never shown again.
type stored struct {
	Session
	Secret          string `json:"secret_webhook,omitempty"`
	BotAuthToken    string `json:"secret_stream_auth_token,omitempty"`
	MaxDurationSecs int    `json:"max_duration_seconds,omitempty"`
}

// Public returns the session as GET shows it: no token, no secret.
func (s Session) Public() Session {
	s.WebhookSecret = ""
	s.Stream.Token = ""
	s.Stream.ExpiresAt = nil
	return s
}

// Ended reports whether the session has ended.
func (s Session) Ended() bool { return s.Status == StatusEnded }
