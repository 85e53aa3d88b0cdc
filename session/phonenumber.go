package session

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/voxgate/voxgate/id"
	"github.com/voxgate/voxgate/store"
)

// PhoneNumber routes inbound calls to a number: each creates a session of
// Mode for AgentID (or streams to StreamURL).
type PhoneNumber struct {
	ID        string    `json:"id"`
	Object    string    `json:"object"`
	Livemode  bool      `json:"livemode"`
	Number    string    `json:"number"`
	AgentID   *string   `json:"agent_id"`
	Mode      Mode      `json:"mode"`
	StreamURL *string   `json:"stream_url"`
	CreatedAt time.Time `json:"created_at"`
}

// PhoneNumberParams creates a phone number.
type PhoneNumberParams struct {
	Number    string  `json:"number"`
	AgentID   *string `json:"agent_id"`
	Mode      *string `json:"mode"`
	StreamURL *string `json:"stream_url"`
}

// CreatePhoneNumber registers a number for inbound calls.
func (m *Manager) CreatePhoneNumber(ctx context.Context, sc store.Scope, p PhoneNumberParams) (PhoneNumber, error) {
	if p.Number == "" {
		return PhoneNumber{}, invalid("number", CodeInvalidRequest, "The 'number' field is required.")
	}
	if !ValidE164(p.Number) {
		return PhoneNumber{}, invalid("number", CodeInvalidRequest, "number must be in E.164 format, like +14155550100")
	}
	now := m.store.Now()
	n := PhoneNumber{ID: id.New(id.PhoneNumber), Object: "phone_number", Livemode: sc.Livemode, Number: p.Number, CreatedAt: now, Mode: ModeMediaStream}
	if p.AgentID != nil && *p.AgentID != "" {
		if _, err := m.agent(ctx, sc, *p.AgentID); errors.Is(err, ErrNotFound) {
			return PhoneNumber{}, invalid("agent_id", CodeAgentNotFound, "no agent %q", *p.AgentID)
		} else if err != nil {
			return PhoneNumber{}, err
		}
		n.AgentID = p.AgentID
		n.Mode = ModeAIAgent
	}
	if p.Mode != nil {
		n.Mode = Mode(*p.Mode)
		if err := checkMode(*p.Mode); err != nil {
			return PhoneNumber{}, err
		}
	}
	if p.StreamURL != nil && *p.StreamURL != "" {
		if err := checkURL("stream_url", *p.StreamURL, "ws", "wss"); err != nil {
			return PhoneNumber{}, err
		}
		n.StreamURL = p.StreamURL
	}
	data, err := json.Marshal(n)
	if err != nil {
		return PhoneNumber{}, err
	}
	err = m.store.Update(ctx, func(tx *store.Tx) error {
		return tx.Insert(store.PhoneNumbers, store.Record{ID: n.ID, Scope: sc, Status: "active", Number: n.Number, Data: data, Created: now, Updated: now})
	})
	if errors.Is(err, store.ErrConflict) {
		return PhoneNumber{}, ErrNumberTaken
	}
	return n, err
}

// GetPhoneNumber returns a phone number.
func (m *Manager) GetPhoneNumber(ctx context.Context, sc store.Scope, numberID string) (PhoneNumber, error) {
	return getRecord[PhoneNumber](ctx, m.store, store.PhoneNumbers, sc, numberID)
}

// ListPhoneNumbers returns a page of phone numbers, newest first.
func (m *Manager) ListPhoneNumbers(ctx context.Context, sc store.Scope, lq store.ListQuery) ([]PhoneNumber, bool, error) {
	return listRecords(ctx, m.store, store.PhoneNumbers, sc, lq, func(n PhoneNumber) PhoneNumber { return n })
}

// DeletePhoneNumber releases a number.
func (m *Manager) DeletePhoneNumber(ctx context.Context, sc store.Scope, numberID string) error {
	err := m.store.Update(ctx, func(tx *store.Tx) error { return tx.Delete(store.PhoneNumbers, sc, numberID) })
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	return err
}

// phoneNumberByE164 finds one of the scope's numbers by its E.164 form.
func (m *Manager) phoneNumberByE164(ctx context.Context, sc store.Scope, number string) (PhoneNumber, error) {
	var n PhoneNumber
	rec, err := m.store.FindPhoneNumber(ctx, sc.Livemode, number)
	if errors.Is(err, store.ErrNotFound) || (err == nil && rec.Scope.OrgID != sc.OrgID) {
		return n, ErrNotFound
	}
	if err != nil {
		return n, err
	}
	return n, json.Unmarshal(rec.Data, &n)
}
