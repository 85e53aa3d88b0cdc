package analysis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/voxgate/voxgate/id"
	"github.com/voxgate/voxgate/llm"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/store"
)

// Analysis events (SPEC §3).
const (
	EventComplete = "analysis.complete"
	EventFailed   = "analysis.failed"
)

// Analysis statuses.
const (
	StatusProcessing = "processing"
	StatusCompleted  = "completed"
	StatusFailed     = "failed"
)

var (
	// ErrNotFound means no such analysis in the scope.
	ErrNotFound = errors.New("analysis: not found")
	// ErrSessionNotEnded means the session is still going: its transcript
	// is not complete yet.
	ErrSessionNotEnded = errors.New("analysis: session has not ended")
)

// InvalidError is a request field the analysis cannot take.
type InvalidError struct{ Param, Message string }

func (e *InvalidError) Error() string { return e.Param + ": " + e.Message }

// Params is the body of POST /v1/sessions/:id/analysis.
type Params struct {
	Profile    *string           `json:"profile"`
	Include    []string          `json:"include"`
	Compliance *ComplianceParams `json:"compliance"`
}

// ComplianceParams are the phrases of a request; when absent, those of the
// session's agent are used.
type ComplianceParams struct {
	Required  []string `json:"required"`
	Forbidden []string `json:"forbidden"`
	// Speaker is whose speech is checked: agent (default), customer or any.
	Speaker string `json:"speaker,omitempty"`
}

// Analysis is an analysis as the API shows it.
type Analysis struct {
	ID          string     `json:"id"`
	Object      string     `json:"object"`
	Livemode    bool       `json:"livemode"`
	SessionID   string     `json:"session_id"`
	Status      string     `json:"status"`
	Profile     string     `json:"profile"`
	Include     []string   `json:"include"`
	Results     *Results   `json:"results"`
	Error       *Failure   `json:"error,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	CompletedAt *time.Time `json:"completed_at"`
}

// Failure says why an analysis failed.
type Failure struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// stored keeps the phrases to check beside the public view.
type stored struct {
	Analysis
	Compliance ComplianceParams `json:"compliance_phrases"`
}

// Service creates analyses and computes them in the background (Run). The
// queue is the store: an analysis still processing after a restart, or
// created on another node, is picked up by the next pass.
type Service struct {
	store    *store.Store
	sessions *session.Manager
	log      *zap.Logger
	wake     chan struct{}
	// Poll is how often Run looks for work nobody woke it for. Default 5 s.
	Poll time.Duration
	// HTTP reaches agents' llm endpoints (summaries). Default http.DefaultClient.
	HTTP *http.Client
	// LLMTimeout bounds an llm summary. Default 60 s.
	LLMTimeout time.Duration
}

// New builds the service.
func New(st *store.Store, sessions *session.Manager, log *zap.Logger) *Service {
	if log == nil {
		log = zap.NewNop()
	}
	return &Service{store: st, sessions: sessions, log: log, wake: make(chan struct{}, 1), Poll: 5 * time.Second,
		HTTP: http.DefaultClient, LLMTimeout: time.Minute}
}

// Create queues an analysis of an ended session.
func (s *Service) Create(ctx context.Context, sc store.Scope, sessionID string, p Params) (Analysis, error) {
	include, err := checkParams(p)
	if err != nil {
		return Analysis{}, err
	}
	sess, err := s.sessions.Get(ctx, sc, sessionID)
	if err != nil {
		return Analysis{}, err
	}
	if !sess.Ended() {
		return Analysis{}, ErrSessionNotEnded
	}
	var phrases ComplianceParams
	if p.Compliance != nil {
		phrases = *p.Compliance
	} else if sess.AgentID != nil {
		a, err := s.sessions.GetAgent(ctx, sc, *sess.AgentID)
		if err != nil && !errors.Is(err, session.ErrNotFound) {
			return Analysis{}, err
		}
		if err == nil && a.Compliance != nil {
			phrases.Required, phrases.Forbidden = a.Compliance.Required, a.Compliance.Forbidden
		}
	}
	now := s.store.Now()
	a := stored{Analysis: Analysis{ID: id.New(id.Analysis), Object: "analysis", Livemode: sc.Livemode, SessionID: sessionID,
		Status: StatusProcessing, Profile: "default", Include: include, CreatedAt: now}, Compliance: phrases}
	if p.Profile != nil && *p.Profile != "" {
		a.Profile = *p.Profile
	}
	data, err := json.Marshal(a)
	if err != nil {
		return Analysis{}, err
	}
	err = s.store.Update(ctx, func(tx *store.Tx) error {
		return tx.Insert(store.Analyses, store.Record{ID: a.ID, Scope: sc, Status: a.Status, Session: sessionID, Data: data, Created: now, Updated: now})
	})
	if err != nil {
		return Analysis{}, err
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return a.Analysis, nil
}

func checkParams(p Params) ([]string, error) {
	if p.Profile != nil && len(*p.Profile) > 100 {
		return nil, &InvalidError{"profile", "profile must be at most 100 characters"}
	}
	if len(p.Include) == 0 {
		return slices.Clone(Parts), nil
	}
	var include []string
	for _, part := range p.Include {
		if !slices.Contains(Parts, part) {
			return nil, &InvalidError{"include", fmt.Sprintf("include takes %q; %q is not one of them", Parts, part)}
		}
		if !slices.Contains(include, part) {
			include = append(include, part)
		}
	}
	if c := p.Compliance; c != nil {
		if c.Speaker != "" && c.Speaker != Agent && c.Speaker != Customer && c.Speaker != "any" {
			return nil, &InvalidError{"compliance.speaker", "compliance.speaker must be agent, customer or any"}
		}
		if n := len(c.Required) + len(c.Forbidden); n > 200 {
			return nil, &InvalidError{"compliance", "compliance takes up to 200 phrases"}
		}
	}
	return include, nil
}

// Get returns an analysis.
func (s *Service) Get(ctx context.Context, sc store.Scope, analysisID string) (Analysis, error) {
	rec, err := s.store.Get(ctx, store.Analyses, sc, analysisID)
	if errors.Is(err, store.ErrNotFound) {
		return Analysis{}, ErrNotFound
	}
	if err != nil {
		return Analysis{}, err
	}
	a, err := decode(rec)
	return a.Analysis, err
}

func decode(rec store.Record) (stored, error) {
	var a stored
	if err := json.Unmarshal(rec.Data, &a); err != nil {
		return stored{}, fmt.Errorf("decode analysis %s: %w", rec.ID, err)
	}
	return a, nil
}

// Run computes queued analyses until ctx ends.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-t.C:
		}
		s.drain(ctx)
		t.Reset(s.Poll)
	}
}

// drain computes every analysis waiting, in batches.
func (s *Service) drain(ctx context.Context) {
	for ctx.Err() == nil {
		recs, err := s.store.AnalysesWithStatus(ctx, StatusProcessing, 20)
		if err != nil {
			s.log.Warn("list queued analyses", zap.Error(err))
			return
		}
		if len(recs) == 0 {
			return
		}
		for _, rec := range recs {
			if err := s.process(ctx, rec); err != nil && ctx.Err() == nil {
				s.log.Error("analysis could not be settled", zap.String("analysis_id", rec.ID), zap.Error(err))
				return // the store is failing: the next pass retries
			}
		}
	}
}

// process computes one analysis and settles it: completed with its results,
// or failed when its input cannot be read.
func (s *Service) process(ctx context.Context, rec store.Record) error {
	a, err := decode(rec)
	if err != nil {
		return s.settle(ctx, rec, stored{Analysis: Analysis{ID: rec.ID, Object: "analysis", SessionID: rec.Session, Livemode: rec.Scope.Livemode,
			Status: StatusProcessing, CreatedAt: rec.Created}}, nil, err)
	}
	in, err := s.input(ctx, rec.Scope, a)
	if err != nil {
		return s.settle(ctx, rec, a, nil, err)
	}
	r := Compute(in)
	if r.Summary != nil && len(in.Turns) > 0 {
		s.llmSummary(ctx, rec.Scope, a.SessionID, in.Turns, r.Summary)
	}
	return s.settle(ctx, rec, a, &r, nil)
}

// summaryPrompt asks the agent's model for the summary.
const summaryPrompt = "Summarize this phone call between a customer and an agent in two or three sentences: " +
	"why the customer called, what was done, and how it ended. Answer with the summary only."

// llmSummary replaces the extractive summary with one from the session's
// agent's llm, when it has one; on any failure the extractive one stays.
func (s *Service) llmSummary(ctx context.Context, sc store.Scope, sessionID string, turns []Turn, sum *Summary) {
	sess, err := s.sessions.Get(ctx, sc, sessionID)
	if err != nil || sess.AgentID == nil {
		return
	}
	ep, ok, err := s.sessions.AgentLLM(ctx, sc, *sess.AgentID)
	if err != nil || !ok {
		return
	}
	var b strings.Builder
	for _, t := range turns {
		fmt.Fprintf(&b, "%s: %s\n", t.Speaker, t.Text)
	}
	ctx, cancel := context.WithTimeout(ctx, s.LLMTimeout)
	defer cancel()
	c := &llm.Client{BaseURL: ep.BaseURL, Model: ep.Model, APIKey: ep.APIKey, HTTP: s.HTTP}
	rep, err := c.Stream(ctx, llm.Request{Messages: []llm.Message{{Role: "system", Content: summaryPrompt}, {Role: "user", Content: b.String()}}}, nil)
	if text := strings.TrimSpace(rep.Content); err == nil && text != "" {
		sum.Text, sum.Method = text, "llm"
		return
	}
	s.log.Warn("llm summary failed; the extractive one is kept", zap.String("session_id", sessionID), zap.Error(err))
}

// input reads what the analysis is computed from.
func (s *Service) input(ctx context.Context, sc store.Scope, a stored) (Input, error) {
	sess, err := s.sessions.Get(ctx, sc, a.SessionID)
	if err != nil {
		return Input{}, fmt.Errorf("read session: %w", err)
	}
	rows, err := s.store.Turns(ctx, a.SessionID)
	if err != nil {
		return Input{}, fmt.Errorf("read transcript: %w", err)
	}
	in := Input{Include: a.Include, Required: a.Compliance.Required, Forbidden: a.Compliance.Forbidden, ComplianceSpeaker: a.Compliance.Speaker}
	if sess.DurationSeconds != nil {
		in.DurationMS = int64(*sess.DurationSeconds * 1000)
	}
	for _, r := range rows {
		in.Turns = append(in.Turns, Turn{Sequence: r.Sequence, Speaker: r.Speaker, Text: r.Text, StartMS: r.StartMS, EndMS: r.EndMS})
	}
	return in, nil
}

// settle writes the outcome and its event in one transaction, unless the
// analysis was settled meanwhile (by another node).
func (s *Service) settle(ctx context.Context, rec store.Record, a stored, r *Results, cause error) error {
	err := s.store.Update(ctx, func(tx *store.Tx) error {
		cur, err := tx.Get(store.Analyses, rec.Scope, rec.ID)
		if err != nil || cur.Status != StatusProcessing {
			return err
		}
		now := tx.Now()
		a.CompletedAt = &now
		event := EventComplete
		if cause != nil {
			a.Status, a.Error, event = StatusFailed, &Failure{Code: "analysis_failed", Message: "The session's transcript could not be read."}, EventFailed
			s.log.Warn("analysis failed", zap.String("analysis_id", rec.ID), zap.Error(cause))
		} else {
			a.Status, a.Results = StatusCompleted, r
		}
		data, err := json.Marshal(a)
		if err != nil {
			return err
		}
		if err := tx.Put(store.Analyses, store.Record{ID: rec.ID, Scope: rec.Scope, Status: a.Status, Data: data, Updated: now}); err != nil {
			return err
		}
		view, err := json.Marshal(a.Analysis)
		if err != nil {
			return err
		}
		return tx.AddEvent(store.Event{ID: id.New(id.Event), Scope: rec.Scope, Type: event, SessionID: a.SessionID, Data: view, Created: now})
	})
	return err
}
