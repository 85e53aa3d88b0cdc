package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/voxgate/voxgate/id"
	"github.com/voxgate/voxgate/store"
)

// EventTypes are the event names an endpoint may subscribe to (SPEC §3),
// besides "*" for all of them.
var EventTypes = []string{
	"session.created", "session.started", "session.ended",
	"session.provider.connected", "session.provider.disconnected",
	"call.ringing", "call.answered", "call.ended", "call.failed",
	"dtmf.received", "transcript.segment", "transcript.ready",
	"recording.ready", "recording.failed", "analysis.complete", "analysis.failed",
	"tool.call", // an agent's llm brain calls a tool (SPEC §7)
}

// EventTest is the type of the event POST /v1/webhook_endpoints/:id/test sends.
const EventTest = "webhook.test"

// Endpoint is a webhook endpoint as the API shows it. Secret is present only
// in the answers to creation and rotation.
type Endpoint struct {
	ID              string          `json:"id"`
	Object          string          `json:"object"`
	Livemode        bool            `json:"livemode"`
	URL             string          `json:"url"`
	Events          []string        `json:"events"`
	Description     string          `json:"description"`
	Enabled         bool            `json:"enabled"`
	SignatureHeader string          `json:"signature_header"`
	Metadata        json.RawMessage `json:"metadata"`
	Secret          string          `json:"secret,omitempty"`
	// PreviousSecretExpiresAt ends the rotation window: until then the old
	// secret signs too.
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at"`
	CreatedAt               time.Time  `json:"created_at"`
	UpdatedAt               time.Time  `json:"updated_at"`
}

// storedEndpoint keeps the secrets beside the public view.
type storedEndpoint struct {
	Endpoint
	Current  string `json:"secret_current"`
	Previous string `json:"secret_previous,omitempty"`
}

// secrets returns the secrets that sign at now: the current one, and the
// previous one inside its rotation window.
func (e *storedEndpoint) secrets(now time.Time) []string {
	out := []string{e.Current}
	if e.Previous != "" && e.PreviousSecretExpiresAt != nil && now.Before(*e.PreviousSecretExpiresAt) {
		out = append(out, e.Previous)
	}
	return out
}

// wants reports whether the endpoint subscribes to the event type.
func (e *storedEndpoint) wants(typ string) bool {
	return slices.Contains(e.Events, "*") || slices.Contains(e.Events, typ)
}

// EndpointParams creates or changes an endpoint; nil fields are left as
// they are on update.
type EndpointParams struct {
	URL             *string         `json:"url"`
	Events          *[]string       `json:"events"`
	Description     *string         `json:"description"`
	Enabled         *bool           `json:"enabled"`
	SignatureHeader *string         `json:"signature_header"`
	Metadata        json.RawMessage `json:"metadata"`
}

// RotateParams is the body of rotate_secret.
type RotateParams struct {
	// ExpiresInSeconds is how long the old secret keeps signing. Default
	// 86400 (24 h); 0 retires it at once; at most 7 days.
	ExpiresInSeconds *int `json:"expires_in_seconds"`
}

var headerName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,63}$`)

// reservedHeaders are set by the deliverer and cannot carry the signature.
var reservedHeaders = []string{"content-type", "content-length", "host", "user-agent", "voxgate-webhook-id", "voxgate-retry-count", "connection", "transfer-encoding"}

func (s *Service) apply(e *storedEndpoint, p EndpointParams, creating bool) error {
	if p.URL != nil || creating {
		if p.URL == nil || *p.URL == "" {
			return invalid("url", "invalid_request", "The 'url' field is required.")
		}
		if len(*p.URL) > 2048 {
			return invalid("url", "invalid_url", "url is longer than 2048 bytes")
		}
		if err := CheckURL("url", *p.URL, s.cfg.AllowPrivate); err != nil {
			return err
		}
		e.URL = *p.URL
	}
	if p.Events != nil || creating {
		if p.Events == nil || len(*p.Events) == 0 {
			return invalid("events", "invalid_request", "events must list event names or \"*\"")
		}
		var evs []string
		for _, ev := range *p.Events {
			if ev != "*" && !slices.Contains(EventTypes, ev) {
				return invalid("events", "unknown_event", "unknown event %q; known events: %s", ev, strings.Join(EventTypes, ", "))
			}
			if !slices.Contains(evs, ev) {
				evs = append(evs, ev)
			}
		}
		e.Events = evs
	}
	if p.Description != nil {
		if len(*p.Description) > 1024 {
			return invalid("description", "invalid_request", "description is longer than 1024 bytes")
		}
		e.Description = *p.Description
	}
	if p.Enabled != nil {
		e.Enabled = *p.Enabled
	}
	if p.SignatureHeader != nil {
		h := *p.SignatureHeader
		if h == "" {
			h = DefaultSignatureHeader
		}
		if !headerName.MatchString(h) || slices.Contains(reservedHeaders, strings.ToLower(h)) {
			return invalid("signature_header", "invalid_request", "signature_header must be a header name such as Kallglot-Signature, not one the gateway sets")
		}
		e.SignatureHeader = h
	}
	if len(p.Metadata) > 0 && string(p.Metadata) != "null" {
		if p.Metadata[0] != '{' || len(p.Metadata) > 8<<10 {
			return invalid("metadata", "invalid_request", "metadata must be an object of at most 8 KiB")
		}
		e.Metadata = p.Metadata
	}
	return nil
}

func status(e *storedEndpoint) string {
	if e.Enabled {
		return "enabled"
	}
	return "disabled"
}

func (s *Service) put(tx *store.Tx, sc store.Scope, e *storedEndpoint, creating bool) error {
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	rec := store.Record{ID: e.ID, Scope: sc, Status: status(e), Data: data, Created: e.CreatedAt, Updated: e.UpdatedAt}
	if creating {
		return tx.Insert(store.WebhookEndpoints, rec)
	}
	return tx.Put(store.WebhookEndpoints, rec)
}

func decodeEndpoint(rec store.Record) (*storedEndpoint, error) {
	var e storedEndpoint
	if err := json.Unmarshal(rec.Data, &e); err != nil {
		return nil, err
	}
	return &e, nil
}

func newSecret() string { return id.Secret("whsec_", 24) }

// Create stores a new endpoint; the answer shows its secret this once.
func (s *Service) Create(ctx context.Context, sc store.Scope, p EndpointParams) (Endpoint, error) {
	now := s.store.Now()
	e := &storedEndpoint{Endpoint: Endpoint{
		ID: id.New(id.WebhookEndpoint), Object: "webhook_endpoint", Livemode: sc.Livemode, Enabled: true,
		SignatureHeader: DefaultSignatureHeader, CreatedAt: now, UpdatedAt: now,
	}, Current: newSecret()}
	if err := s.apply(e, p, true); err != nil {
		return Endpoint{}, err
	}
	if err := s.store.Update(ctx, func(tx *store.Tx) error { return s.put(tx, sc, e, true) }); err != nil {
		return Endpoint{}, err
	}
	out := e.Endpoint
	out.Secret = e.Current
	return out, nil
}

// Get returns an endpoint without its secret.
func (s *Service) Get(ctx context.Context, sc store.Scope, endpointID string) (Endpoint, error) {
	rec, err := s.store.Get(ctx, store.WebhookEndpoints, sc, endpointID)
	if errors.Is(err, store.ErrNotFound) {
		return Endpoint{}, ErrNotFound
	}
	if err != nil {
		return Endpoint{}, err
	}
	e, err := decodeEndpoint(rec)
	if err != nil {
		return Endpoint{}, err
	}
	return e.Endpoint, nil
}

// List returns a page of the scope's endpoints, newest first.
func (s *Service) List(ctx context.Context, sc store.Scope, lq store.ListQuery) ([]Endpoint, bool, error) {
	recs, more, err := s.store.List(ctx, store.WebhookEndpoints, sc, lq)
	if err != nil {
		return nil, false, err
	}
	out := make([]Endpoint, 0, len(recs))
	for _, r := range recs {
		e, err := decodeEndpoint(r)
		if err != nil {
			return nil, false, err
		}
		out = append(out, e.Endpoint)
	}
	return out, more, nil
}

// change applies fn to a stored endpoint in a transaction.
func (s *Service) change(ctx context.Context, sc store.Scope, endpointID string, fn func(e *storedEndpoint, now time.Time) error) (*storedEndpoint, error) {
	var out *storedEndpoint
	err := s.store.Update(ctx, func(tx *store.Tx) error {
		rec, err := tx.Get(store.WebhookEndpoints, sc, endpointID)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		e, err := decodeEndpoint(rec)
		if err != nil {
			return err
		}
		now := tx.Now()
		if err := fn(e, now); err != nil {
			return err
		}
		e.UpdatedAt = now
		out = e
		return s.put(tx, sc, e, false)
	})
	return out, err
}

// Update changes an endpoint: its URL, events, description, enabled,
// signature header or metadata.
func (s *Service) Update(ctx context.Context, sc store.Scope, endpointID string, p EndpointParams) (Endpoint, error) {
	e, err := s.change(ctx, sc, endpointID, func(e *storedEndpoint, _ time.Time) error { return s.apply(e, p, false) })
	if err != nil {
		return Endpoint{}, err
	}
	return e.Endpoint, nil
}

// RotateSecret gives the endpoint a new secret; the old one keeps signing
// for the window the params ask (default 24 h). The answer shows the new
// secret this once.
func (s *Service) RotateSecret(ctx context.Context, sc store.Scope, endpointID string, p RotateParams) (Endpoint, error) {
	window := 24 * time.Hour
	if p.ExpiresInSeconds != nil {
		if *p.ExpiresInSeconds < 0 || *p.ExpiresInSeconds > 7*86400 {
			return Endpoint{}, invalid("expires_in_seconds", "invalid_request", "expires_in_seconds must be from 0 to 604800")
		}
		window = time.Duration(*p.ExpiresInSeconds) * time.Second
	}
	e, err := s.change(ctx, sc, endpointID, func(e *storedEndpoint, now time.Time) error {
		expires := now.Add(window)
		e.Previous, e.Current, e.PreviousSecretExpiresAt = e.Current, newSecret(), &expires
		return nil
	})
	if err != nil {
		return Endpoint{}, err
	}
	out := e.Endpoint
	out.Secret = e.Current
	return out, nil
}

// Delete removes an endpoint; its pending deliveries fail when they come up.
func (s *Service) Delete(ctx context.Context, sc store.Scope, endpointID string) error {
	err := s.store.Update(ctx, func(tx *store.Tx) error { return tx.Delete(store.WebhookEndpoints, sc, endpointID) })
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	return err
}

// SendTest sends the endpoint a webhook.test event, whatever its filter, and
// returns the delivery.
func (s *Service) SendTest(ctx context.Context, sc store.Scope, endpointID string) (Delivery, error) {
	ep, err := s.Get(ctx, sc, endpointID)
	if err != nil {
		return Delivery{}, err
	}
	data, _ := json.Marshal(map[string]string{"endpoint_id": ep.ID, "message": "This is a test event from voxgate."})
	ev := store.Event{ID: id.New(id.Event), Scope: sc, Type: EventTest, Data: data, Created: s.store.Now()}
	d := store.Delivery{ID: id.New(id.WebhookDelivery), Target: ep.ID, EventID: ev.ID, Scope: sc, URL: ep.URL,
		Status: store.DeliveryPending, NextAttempt: ev.Created, Created: ev.Created,
		EventType: ev.Type, EventData: data, EventCreated: ev.Created}
	err = s.store.Update(ctx, func(tx *store.Tx) error {
		if err := tx.AddEvent(ev); err != nil {
			return err
		}
		if err := tx.MarkDispatched(ev.ID); err != nil {
			return err
		}
		return tx.AddDelivery(d)
	})
	if err != nil {
		return Delivery{}, err
	}
	s.Kick()
	return publicDelivery(d), nil
}

// Delivery is a delivery as the endpoint's log shows it.
type Delivery struct {
	ID             string     `json:"id"`
	Object         string     `json:"object"`
	EndpointID     string     `json:"endpoint_id"`
	EventID        string     `json:"event_id"`
	EventType      string     `json:"event_type"`
	URL            string     `json:"url"`
	Status         string     `json:"status"`
	Attempts       int        `json:"attempts"`
	ResponseStatus *int       `json:"response_status"`
	Error          *string    `json:"error"`
	NextAttemptAt  *time.Time `json:"next_attempt_at"`
	LastAttemptAt  *time.Time `json:"last_attempt_at"`
	CreatedAt      time.Time  `json:"created_at"`
}

func publicDelivery(d store.Delivery) Delivery {
	out := Delivery{ID: d.ID, Object: "webhook_delivery", EndpointID: d.Target, EventID: d.EventID, EventType: d.EventType,
		URL: d.URL, Status: d.Status, Attempts: d.Attempts, LastAttemptAt: d.LastAttempt, CreatedAt: d.Created}
	if d.ResponseStatus != 0 {
		out.ResponseStatus = &d.ResponseStatus
	}
	if d.LastError != "" {
		out.Error = &d.LastError
	}
	if d.Status == store.DeliveryPending {
		next := d.NextAttempt
		out.NextAttemptAt = &next
	}
	return out
}

// Deliveries returns a page of an endpoint's deliveries, newest first.
// lq.Status filters by pending, succeeded or failed.
func (s *Service) Deliveries(ctx context.Context, sc store.Scope, endpointID string, lq store.ListQuery) ([]Delivery, bool, error) {
	if _, err := s.Get(ctx, sc, endpointID); err != nil {
		return nil, false, err
	}
	ds, more, err := s.store.ListDeliveries(ctx, endpointID, lq)
	if err != nil {
		return nil, false, err
	}
	out := make([]Delivery, len(ds))
	for i, d := range ds {
		out[i] = publicDelivery(d)
	}
	return out, more, nil
}
