package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/voxgate/voxgate/id"
	"github.com/voxgate/voxgate/store"
)

// APIKeyView is an API key as the API shows it. Secret is present only in
// the response that created the key.
type APIKeyView struct {
	ID                 string     `json:"id"`
	Object             string     `json:"object"`
	Name               string     `json:"name"`
	Livemode           bool       `json:"livemode"`
	Hint               string     `json:"hint"`
	Scopes             []string   `json:"scopes"`
	RateLimitPerMinute *int       `json:"rate_limit_per_minute"`
	Secret             string     `json:"secret,omitempty"`
	CreatedAt          time.Time  `json:"created_at"`
	LastUsedAt         *time.Time `json:"last_used_at"`
	RevokedAt          *time.Time `json:"revoked_at"`
}

func viewKey(k store.APIKey) APIKeyView {
	v := APIKeyView{ID: k.ID, Object: "api_key", Name: k.Name, Livemode: k.Livemode, Hint: k.Hint, Scopes: k.Scopes,
		CreatedAt: k.Created, LastUsedAt: k.LastUsed, RevokedAt: k.Revoked}
	if k.RateLimitPerMinute > 0 {
		v.RateLimitPerMinute = &k.RateLimitPerMinute
	}
	return v
}

// NewKeyParams describes a key to mint.
type NewKeyParams struct {
	Name               string   `json:"name"`
	Scopes             []string `json:"scopes"`
	Livemode           *bool    `json:"livemode"`
	RateLimitPerMinute int      `json:"rate_limit_per_minute"`
}

// MintKey creates an API key for the organization and returns it with its
// secret (shown this once). It is used by the API and by `voxgate keys create`.
func MintKey(ctx context.Context, st *store.Store, orgID string, p NewKeyParams) (APIKeyView, error) {
	if len(p.Scopes) == 0 {
		return APIKeyView{}, invalidParam("scopes", "invalid_request", "scopes must list at least one of %v.", Scopes)
	}
	for _, sc := range p.Scopes {
		if !slices.Contains(Scopes, sc) {
			return APIKeyView{}, invalidParam("scopes", "invalid_request", "unknown scope %q; scopes are %v.", sc, Scopes)
		}
	}
	if p.RateLimitPerMinute < 0 {
		return APIKeyView{}, invalidParam("rate_limit_per_minute", "invalid_request", "rate_limit_per_minute must not be negative.")
	}
	if len(p.Name) > 200 {
		return APIKeyView{}, invalidParam("name", "invalid_request", "name is longer than 200 bytes.")
	}
	live := p.Livemode == nil || *p.Livemode
	prefix := TestPrefix
	if live {
		prefix = LivePrefix
	}
	secret := id.Secret(prefix, 32)
	k := store.APIKey{
		ID: id.New(id.APIKey), OrgID: orgID, Name: p.Name, Livemode: live, Hash: HashKey(secret), Hint: KeyHint(secret),
		Scopes: slices.Compact(slices.Sorted(slices.Values(p.Scopes))), RateLimitPerMinute: p.RateLimitPerMinute, Created: st.Now(),
	}
	if err := st.CreateAPIKey(ctx, k); err != nil {
		return APIKeyView{}, err
	}
	v := viewKey(k)
	v.Secret = secret
	return v, nil
}

func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request) error {
	var p NewKeyParams
	if err := decode(r, &p); err != nil {
		return err
	}
	ri := info(r)
	if !ri.scope.Livemode {
		if p.Livemode != nil && *p.Livemode {
			return invalidParam("livemode", "invalid_request", "A test key cannot create live keys.")
		}
		live := false
		p.Livemode = &live
	}
	v, err := MintKey(r.Context(), s.store, ri.scope.OrgID, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v)
	return nil
}

func (s *Server) listAPIKeys(w http.ResponseWriter, r *http.Request) error {
	lq, err := listQuery(r, id.APIKey)
	if err != nil {
		return err
	}
	keys, more, err := s.store.ListAPIKeys(r.Context(), info(r).scope.OrgID, lq)
	if err != nil {
		return err
	}
	views := make([]APIKeyView, len(keys))
	for i, k := range keys {
		views[i] = viewKey(k)
	}
	writeJSON(w, http.StatusOK, newList(r, views, more, func(v APIKeyView) string { return v.ID }))
	return nil
}

func (s *Server) revokeAPIKey(w http.ResponseWriter, r *http.Request) error {
	k, err := s.store.RevokeAPIKey(r.Context(), info(r).scope.OrgID, r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("api_key", r.PathValue("id"))
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewKey(k))
	return nil
}
