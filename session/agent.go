package session

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"time"

	"github.com/voxgate/voxgate/id"
	"github.com/voxgate/voxgate/store"
)

// Agent is the configuration of the agent side of agent-mode sessions.
type Agent struct {
	ID                        string          `json:"id"`
	Object                    string          `json:"object"`
	Livemode                  bool            `json:"livemode"`
	Name                      string          `json:"name"`
	Status                    string          `json:"status"`
	Instructions              string          `json:"instructions"`
	Voice                     string          `json:"voice"`
	Language                  string          `json:"language"`
	Temperature               *float64        `json:"temperature"`
	WelcomeMessage            string          `json:"welcome_message"`
	Tools                     []Tool          `json:"tools"`
	KnowledgeBaseID           string          `json:"knowledge_base_id"`
	StreamURL                 string          `json:"stream_url"`
	StreamProtocol            string          `json:"stream_protocol"`
	StreamAuthTokenSet        bool            `json:"stream_auth_token_set"`
	LLM                       *LLM            `json:"llm"`
	HangupAfterSilenceSeconds int             `json:"hangup_after_silence_seconds"`
	MaxDurationSeconds        int             `json:"max_duration_seconds"`
	Compliance                *Compliance     `json:"compliance"`
	Metadata                  json.RawMessage `json:"metadata"`
	CreatedAt                 time.Time       `json:"created_at"`
	UpdatedAt                 time.Time       `json:"updated_at"`
}

// Tool is a function the agent's brain may call, described by JSON Schema.
type Tool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
}

// LLM is an OpenAI-compatible chat-completions endpoint. The API key is
// write-only: responses say only whether one is set.
type LLM struct {
	BaseURL   string `json:"base_url"`
	Model     string `json:"model"`
	APIKey    string `json:"api_key,omitempty"`
	APIKeySet bool   `json:"api_key_set"`
}

// AgentParams creates or changes an agent. Absent (nil) fields are left as
// they are on update; an empty string clears a text field.
type AgentParams struct {
	Name                      *string         `json:"name"`
	Status                    *string         `json:"status"`
	Instructions              *string         `json:"instructions"`
	Voice                     *string         `json:"voice"`
	Language                  *string         `json:"language"`
	Temperature               *float64        `json:"temperature"`
	WelcomeMessage            *string         `json:"welcome_message"`
	Tools                     *[]Tool         `json:"tools"`
	KnowledgeBaseID           *string         `json:"knowledge_base_id"`
	StreamURL                 *string         `json:"stream_url"`
	StreamProtocol            *string         `json:"stream_protocol"`
	StreamAuthToken           *string         `json:"stream_auth_token"`
	LLM                       *LLM            `json:"llm"`
	HangupAfterSilenceSeconds *int            `json:"hangup_after_silence_seconds"`
	MaxDurationSeconds        *int            `json:"max_duration_seconds"`
	Compliance                *Compliance     `json:"compliance"`
	Metadata                  json.RawMessage `json:"metadata"`
}

// Compliance lists the phrases an analysis of the agent's calls looks for
// in what the agent side said (SPEC §3 compliance).
type Compliance struct {
	Required  []string `json:"required"`
	Forbidden []string `json:"forbidden"`
}

// storedAgent keeps the write-only secrets beside the public view.
type storedAgent struct {
	Agent
	StreamAuthToken string `json:"secret_stream_auth_token,omitempty"`
	LLMAPIKey       string `json:"secret_llm_api_key,omitempty"`
}

var toolName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

func (p AgentParams) apply(a *storedAgent, creating bool) error {
	if creating && (p.Name == nil || *p.Name == "") {
		return invalid("name", CodeInvalidRequest, "The 'name' field is required.")
	}
	setString := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	setString(&a.Name, p.Name)
	setString(&a.Status, p.Status)
	setString(&a.Instructions, p.Instructions)
	setString(&a.Voice, p.Voice)
	setString(&a.Language, p.Language)
	setString(&a.WelcomeMessage, p.WelcomeMessage)
	setString(&a.KnowledgeBaseID, p.KnowledgeBaseID)
	setString(&a.StreamURL, p.StreamURL)
	setString(&a.StreamProtocol, p.StreamProtocol)
	setString(&a.StreamAuthToken, p.StreamAuthToken)
	if p.Temperature != nil {
		a.Temperature = p.Temperature
	}
	if p.Tools != nil {
		a.Tools = *p.Tools
	}
	if p.LLM != nil {
		a.LLMAPIKey = p.LLM.APIKey
		a.LLM = &LLM{BaseURL: p.LLM.BaseURL, Model: p.LLM.Model}
	}
	if p.HangupAfterSilenceSeconds != nil {
		a.HangupAfterSilenceSeconds = *p.HangupAfterSilenceSeconds
	}
	if p.MaxDurationSeconds != nil {
		a.MaxDurationSeconds = *p.MaxDurationSeconds
	}
	if p.Metadata != nil {
		a.Metadata = compactJSON(p.Metadata)
	}
	if p.Compliance != nil {
		a.Compliance = p.Compliance
	}
	if a.Status == "" {
		a.Status = "active"
	}
	if a.Tools == nil {
		a.Tools = []Tool{}
	}
	if a.StreamProtocol == "" && a.StreamURL != "" {
		a.StreamProtocol = "voxgate"
	}
	a.StreamAuthTokenSet = a.StreamAuthToken != ""
	if a.LLM != nil {
		a.LLM.APIKeySet = a.LLMAPIKey != ""
	}
	return a.validate()
}

func (a *storedAgent) validate() error {
	errs := []error{
		checkLength("name", a.Name, 200),
		checkOneOf("status", a.Status, "active", "inactive"),
		checkLength("instructions", a.Instructions, 64<<10),
		checkLength("welcome_message", a.WelcomeMessage, 4<<10),
		checkMetadata(a.Metadata),
	}
	if a.Name == "" {
		errs = append(errs, invalid("name", CodeInvalidRequest, "name must not be empty"))
	}
	if a.Language != "" && !validLanguage(a.Language) {
		errs = append(errs, invalid("language", CodeInvalidRequest, "language must be a BCP-47 code such as en or es"))
	}
	if a.Temperature != nil && (*a.Temperature < 0 || *a.Temperature > 2) {
		errs = append(errs, invalid("temperature", CodeInvalidRequest, "temperature must be between 0 and 2"))
	}
	for _, t := range a.Tools {
		if !toolName.MatchString(t.Name) {
			errs = append(errs, invalid("tools", CodeInvalidRequest, "each tool needs a name of 1-64 letters, digits, _ or -"))
			break
		}
		if len(t.Parameters) > 0 && t.Parameters[0] != '{' {
			errs = append(errs, invalid("tools", CodeInvalidRequest, "tool %q: parameters must be a JSON Schema object", t.Name))
			break
		}
	}
	if a.StreamURL != "" {
		errs = append(errs, checkURL("stream_url", a.StreamURL, "ws", "wss"), checkOneOf("stream_protocol", a.StreamProtocol, "voxgate", "twilio"))
	}
	if a.LLM != nil {
		errs = append(errs, checkURL("llm.base_url", a.LLM.BaseURL, "http", "https"))
		if a.LLM.Model == "" {
			errs = append(errs, invalid("llm.model", CodeInvalidRequest, "llm.model is required"))
		}
	}
	if c := a.Compliance; c != nil {
		for _, ph := range append(append([]string{}, c.Required...), c.Forbidden...) {
			if ph == "" || len(ph) > 500 || len(c.Required)+len(c.Forbidden) > 200 {
				errs = append(errs, invalid("compliance", CodeInvalidRequest, "compliance takes up to 200 phrases of 1-500 bytes"))
				break
			}
		}
	}
	if a.HangupAfterSilenceSeconds < 0 || a.HangupAfterSilenceSeconds > 3600 {
		errs = append(errs, invalid("hangup_after_silence_seconds", CodeInvalidRequest, "hangup_after_silence_seconds must be 0-3600"))
	}
	if a.MaxDurationSeconds < 0 || a.MaxDurationSeconds > 86400 {
		errs = append(errs, invalid("max_duration_seconds", CodeInvalidRequest, "max_duration_seconds must be 0-86400"))
	}
	return firstError(errs...)
}

// CreateAgent stores a new agent.
func (m *Manager) CreateAgent(ctx context.Context, sc store.Scope, p AgentParams) (Agent, error) {
	now := m.store.Now()
	a := storedAgent{Agent: Agent{ID: id.New(id.Agent), Object: "agent", Livemode: sc.Livemode, CreatedAt: now, UpdatedAt: now}}
	if err := p.apply(&a, true); err != nil {
		return Agent{}, err
	}
	data, err := json.Marshal(a)
	if err != nil {
		return Agent{}, err
	}
	err = m.store.Update(ctx, func(tx *store.Tx) error {
		return tx.Insert(store.Agents, store.Record{ID: a.ID, Scope: sc, Status: a.Status, Data: data, Created: now, Updated: now})
	})
	return a.Agent, err
}

// agent returns an agent with its secrets, for the parts that use them.
func (m *Manager) agent(ctx context.Context, sc store.Scope, agentID string) (storedAgent, error) {
	return getRecord[storedAgent](ctx, m.store, store.Agents, sc, agentID)
}

// GetAgent returns an agent.
func (m *Manager) GetAgent(ctx context.Context, sc store.Scope, agentID string) (Agent, error) {
	a, err := m.agent(ctx, sc, agentID)
	return a.Agent, err
}

// ListAgents returns a page of agents, newest first.
func (m *Manager) ListAgents(ctx context.Context, sc store.Scope, lq store.ListQuery) ([]Agent, bool, error) {
	return listRecords(ctx, m.store, store.Agents, sc, lq, func(a storedAgent) Agent { return a.Agent })
}

// UpdateAgent changes the fields present in p.
func (m *Manager) UpdateAgent(ctx context.Context, sc store.Scope, agentID string, p AgentParams) (Agent, error) {
	var a storedAgent
	err := m.store.Update(ctx, func(tx *store.Tx) error {
		rec, err := tx.Get(store.Agents, sc, agentID)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if err := json.Unmarshal(rec.Data, &a); err != nil {
			return err
		}
		if err := p.apply(&a, false); err != nil {
			return err
		}
		a.UpdatedAt = tx.Now()
		data, err := json.Marshal(a)
		if err != nil {
			return err
		}
		rec.Status, rec.Data, rec.Updated = a.Status, data, a.UpdatedAt
		return tx.Put(store.Agents, rec)
	})
	return a.Agent, err
}

// DeleteAgent removes an agent.
func (m *Manager) DeleteAgent(ctx context.Context, sc store.Scope, agentID string) error {
	err := m.store.Update(ctx, func(tx *store.Tx) error { return tx.Delete(store.Agents, sc, agentID) })
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	return err
}

// getRecord reads one stored document of the scope.
func getRecord[T any](ctx context.Context, st *store.Store, t store.Table, sc store.Scope, recordID string) (T, error) {
	var v T
	rec, err := st.Get(ctx, t, sc, recordID)
	if errors.Is(err, store.ErrNotFound) {
		return v, ErrNotFound
	}
	if err != nil {
		return v, err
	}
	return v, json.Unmarshal(rec.Data, &v)
}

// listRecords decodes a page of stored documents into their public views.
func listRecords[S, V any](ctx context.Context, st *store.Store, t store.Table, sc store.Scope, lq store.ListQuery, view func(S) V) ([]V, bool, error) {
	recs, more, err := st.List(ctx, t, sc, lq)
	if err != nil {
		return nil, false, err
	}
	out := make([]V, 0, len(recs))
	for _, r := range recs {
		var s S
		if err := json.Unmarshal(r.Data, &s); err != nil {
			return nil, false, err
		}
		out = append(out, view(s))
	}
	return out, more, nil
}
