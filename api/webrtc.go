package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/store"
)

// Answerer answers WebRTC offers with a leg that joins a session (rtc.Endpoint).
type Answerer interface {
	Answer(ctx context.Context, sc store.Scope, sessionID, offer, speaker string) (answer, callID string, err error)
}

var errInvalidStreamToken = apiError(http.StatusUnauthorized, typeAuthentication, "invalid_token",
	"The stream token is invalid, expired or for another session; mint one at POST /v1/sessions/:id/stream_tokens.")

// tokenOrKey authorizes a browser route by ?token=kst_… (one session, no
// API key in the page) or else by API key with the scope.
func (s *Server) tokenOrKey(scope string, next apiHandler) apiHandler {
	byKey := s.authorized(scope, next)
	return func(w http.ResponseWriter, r *http.Request) error {
		token := r.URL.Query().Get("token")
		if token == "" {
			return byKey(w, r)
		}
		sid := r.PathValue("id")
		if err := s.sessions.CheckStreamToken(r.Context(), sid, token); err != nil {
			if errors.Is(err, session.ErrBadToken) {
				return errInvalidStreamToken
			}
			return err
		}
		_, sc, err := s.sessions.Peek(r.Context(), sid)
		if err != nil {
			return err
		}
		info(r).scope = sc
		return next(w, r)
	}
}

func (s *Server) webrtcOffer(w http.ResponseWriter, r *http.Request) error {
	if s.webrtc == nil {
		return apiError(http.StatusServiceUnavailable, typeAPI, "webrtc_unavailable", "WebRTC is not enabled on this gateway.")
	}
	var p struct {
		SDP     string `json:"sdp"`
		Type    string `json:"type"`
		Speaker string `json:"speaker"`
	}
	if err := decode(r, &p); err != nil {
		return err
	}
	if p.Type != "offer" {
		return invalidParam("type", "invalid_request", "type must be \"offer\".")
	}
	if p.SDP == "" {
		return invalidParam("sdp", "invalid_request", "The 'sdp' field is required.")
	}
	sid := r.PathValue("id")
	sess, err := s.sessions.Get(r.Context(), info(r).scope, sid)
	if err != nil {
		return err
	}
	if sess.Ended() {
		return session.ErrEnded
	}
	answer, callID, err := s.webrtc.Answer(r.Context(), info(r).scope, sid, p.SDP, p.Speaker)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"sdp": answer, "type": "answer", "call_id": callID})
	return nil
}
