package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/voxgate/voxgate/store"
)

// Scopes an API key may hold (SPEC §1).
var Scopes = []string{
	"sessions:read", "sessions:write", "calls:write", "agents:read", "agents:write",
	"recordings:read", "analysis:read", "analysis:write", "webhooks:read", "webhooks:write", "admin",
}

// Key prefixes.
const (
	LivePrefix = "sk_live_"
	TestPrefix = "sk_test_"
)

// HashKey returns the stored form of an API key: hex SHA-256. Keys carry
// 256 random bits, so a fast hash is enough; nothing else is kept.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// KeyHint shows enough of a key to recognise it: its prefix and last four.
func KeyHint(key string) string {
	prefix := LivePrefix
	if strings.HasPrefix(key, TestPrefix) {
		prefix = TestPrefix
	}
	if len(key) < len(prefix)+4 {
		return prefix + "…"
	}
	return prefix + "…" + key[len(key)-4:]
}

// hasScope reports whether the key's scopes grant want. A :write scope
// grants the matching :read.
func hasScope(scopes []string, want string) bool {
	if slices.Contains(scopes, want) {
		return true
	}
	if res, ok := strings.CutSuffix(want, ":read"); ok {
		return slices.Contains(scopes, res+":write")
	}
	return false
}

func credential(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(token)
		}
		return ""
	}
	return strings.TrimSpace(r.Header.Get("X-API-Key"))
}

var errInvalidKey = apiError(http.StatusUnauthorized, typeAuthentication, "invalid_api_key",
	"Invalid API key. Send it as 'Authorization: Bearer sk_live_…' or 'X-API-Key: sk_live_…'.")

// authenticate finds the request's key and checks it.
func (s *Server) authenticate(r *http.Request) (*store.APIKey, error) {
	key := credential(r)
	live := strings.HasPrefix(key, LivePrefix)
	if !live && !strings.HasPrefix(key, TestPrefix) {
		return nil, errInvalidKey
	}
	hash := HashKey(key)
	k, err := s.store.APIKeyByHash(r.Context(), hash)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errInvalidKey
	}
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(k.Hash), []byte(hash)) != 1 || k.Revoked != nil || k.Livemode != live {
		return nil, errInvalidKey
	}
	return &k, nil
}

// authorized wraps a handler with authentication, the scope check and the
// key's rate limit.
func (s *Server) authorized(scope string, next apiHandler) apiHandler {
	return func(w http.ResponseWriter, r *http.Request) error {
		k, err := s.authenticate(r)
		if err != nil {
			return err
		}
		ri := info(r)
		ri.key, ri.scope = k, store.Scope{OrgID: k.OrgID, Livemode: k.Livemode}
		ri.logger = ri.logger.With(zap.String("api_key_id", k.ID))
		s.touch(r.Context(), k.ID)
		limit := k.RateLimitPerMinute
		if limit <= 0 {
			limit = s.cfg.RateLimitPerMinute
		}
		allowed, remaining, reset := s.limiter.Take(r.Context(), k.ID, limit)
		h := w.Header()
		h.Set("X-RateLimit-Limit", itoa(limit))
		h.Set("X-RateLimit-Remaining", itoa(remaining))
		h.Set("X-RateLimit-Reset", unixString(reset))
		if !allowed {
			s.metrics.rateLimited.Inc()
			e := apiError(http.StatusTooManyRequests, typeRateLimit, "rate_limit_exceeded",
				"Too many requests: this key may make %d per minute.", limit)
			e.RetryAfter = max(1, int(reset.Sub(s.store.Now()).Seconds()+0.999))
			return e
		}
		if !hasScope(k.Scopes, scope) {
			return apiError(http.StatusForbidden, typePermission, "insufficient_permissions",
				"This API key lacks the %q scope.", scope)
		}
		return next(w, r)
	}
}

// touch records when a key was last used, at most once a minute per key.
func (s *Server) touch(ctx context.Context, keyID string) {
	now := s.store.Now()
	if prev, ok := s.lastUse.Load(keyID); ok && now.Sub(prev.(time.Time)) < time.Minute {
		return
	}
	s.lastUse.Store(keyID, now)
	if err := s.store.TouchAPIKey(ctx, keyID, now); err != nil {
		s.log.Debug("last_used_at not recorded", zap.String("api_key_id", keyID), zap.Error(err))
	}
}
