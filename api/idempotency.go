package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"

	"go.uber.org/zap"
)

// staleClaim is how long a request may hold an Idempotency-Key before a
// retry may assume it crashed and run again.
const staleClaim = 2 * time.Minute

// idempotent makes a POST replayable under an Idempotency-Key (SPEC §1):
// the first response is stored and returned byte for byte on a replay; the
// same key with another body is 400 idempotency_mismatch; the same key while
// the first request runs is 409 idempotency_conflict. Server errors are not
// kept, so a retry after one runs again.
func (s *Server) idempotent(next apiHandler) apiHandler {
	return func(w http.ResponseWriter, r *http.Request) error {
		key := r.Header.Get("Idempotency-Key")
		if key == "" {
			return next(w, r)
		}
		if len(key) > 255 {
			e := invalidParam("Idempotency-Key", "invalid_request", "Idempotency-Key must be at most 255 characters.")
			return e
		}
		ri := info(r)
		hash := requestHash(ri.route, ri.body)
		prior, err := s.store.BeginIdempotent(r.Context(), ri.scope, key, hash, s.cfg.IdempotencyTTL, staleClaim)
		if err != nil {
			return err
		}
		if prior != nil {
			if prior.RequestHash != hash {
				return invalidParam("Idempotency-Key", "idempotency_mismatch",
					"This Idempotency-Key was used with a different request; use a new key for a new request.")
			}
			if prior.State != "done" {
				e := apiError(http.StatusConflict, typeConflict, "idempotency_conflict",
					"A request with this Idempotency-Key is still being processed; retry shortly.")
				e.RetryAfter = 1
				return e
			}
			s.metrics.idempotentReplays.Inc()
			w.Header().Set("Content-Type", prior.ContentType)
			w.Header().Set("Idempotency-Replayed", "true")
			w.WriteHeader(prior.StatusCode)
			_, _ = w.Write(prior.Body)
			return nil
		}
		rec := &recorder{header: http.Header{}}
		err = next(rec, r)
		if err != nil {
			writeError(rec, r, err)
		}
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body.Bytes())
		if rec.status >= 500 {
			if err := s.store.AbandonIdempotent(r.Context(), ri.scope, key); err != nil {
				ri.logger.Warn("idempotency key not released", zap.Error(err))
			}
			return nil
		}
		if err := s.store.FinishIdempotent(r.Context(), ri.scope, key, rec.status, rec.header.Get("Content-Type"), rec.body.Bytes()); err != nil {
			ri.logger.Error("idempotent response not stored", zap.Error(err))
		}
		return nil
	}
}

// requestHash identifies a request by its route and canonical JSON body, so
// that key order and spacing do not make two equal requests differ.
func requestHash(route string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(route))
	h.Write([]byte{0})
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err == nil {
		canon, _ := json.Marshal(v)
		h.Write(canon)
	} else {
		h.Write(body)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// recorder captures a response so it can be stored and then sent.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
