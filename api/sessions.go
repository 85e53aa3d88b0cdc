package api

import (
	"net/http"

	"github.com/voxgate/voxgate/session"
)

func (s *Server) createSession(w http.ResponseWriter, r *http.Request) error {
	var p session.CreateParams
	if err := decode(r, &p); err != nil {
		return err
	}
	sess, err := s.sessions.Create(r.Context(), info(r).scope, p)
	if err != nil {
		return err
	}
	s.metrics.sessionsCreated.Inc()
	info(r).logger.Info("session created", sessionField(sess.ID), modeField(sess.Mode))
	writeJSON(w, http.StatusCreated, sess)
	return nil
}

func (s *Server) getSession(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.sessions.Get(r.Context(), info(r).scope, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sess)
	return nil
}

func (s *Server) endSession(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.sessions.End(r.Context(), info(r).scope, r.PathValue("id"), session.EndExplicit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sess)
	return nil
}

func (s *Server) createStreamToken(w http.ResponseWriter, r *http.Request) error {
	st, err := s.sessions.NewStreamToken(r.Context(), info(r).scope, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{
		"object": "stream_token", "session_id": r.PathValue("id"), "url": st.URL, "token": st.Token, "expires_at": st.ExpiresAt,
	})
	return nil
}
