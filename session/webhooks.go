package session

import (
	"context"
	"errors"

	"github.com/voxgate/voxgate/store"
)

// WebhookTarget returns where a session's own webhooks go: its webhook_url
// and webhook_secret, or an empty URL when it has none or does not exist
// (webhook.Sessions).
func (m *Manager) WebhookTarget(ctx context.Context, sessionID string) (url, secret string, err error) {
	rec, err := m.store.Lookup(ctx, store.Sessions, sessionID)
	if errors.Is(err, store.ErrNotFound) {
		return "", "", nil
	}
	if err != nil {
		return "", "", err
	}
	s, err := decodeSession(rec)
	if err != nil || s.WebhookURL == nil {
		return "", "", err
	}
	return *s.WebhookURL, s.Secret, nil
}
