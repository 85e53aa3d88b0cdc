package api

import (
	"net/http"

	"github.com/voxgate/voxgate/id"
	"github.com/voxgate/voxgate/session"
)

func (s *Server) dial(w http.ResponseWriter, r *http.Request) error {
	var p session.DialParams
	if err := decode(r, &p); err != nil {
		return err
	}
	c, err := s.sessions.Dial(r.Context(), info(r).scope, r.PathValue("id"), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, c)
	return nil
}

func (s *Server) hangup(w http.ResponseWriter, r *http.Request) error {
	var p struct {
		CallID string `json:"call_id"`
	}
	if err := decode(r, &p); err != nil {
		return err
	}
	calls, err := s.sessions.Hangup(r.Context(), info(r).scope, r.PathValue("id"), p.CallID)
	if err != nil {
		return err
	}
	if p.CallID != "" {
		writeJSON(w, http.StatusOK, calls[0])
		return nil
	}
	writeJSON(w, http.StatusOK, newList(r, calls, false, func(c session.Call) string { return c.ID }))
	return nil
}

func (s *Server) getCall(w http.ResponseWriter, r *http.Request) error {
	c, err := s.sessions.GetCall(r.Context(), info(r).scope, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

// listCalls serves GET /v1/calls (filters session_id, status, direction)
// and GET /v1/sessions/:id/calls.
func (s *Server) listCalls(w http.ResponseWriter, r *http.Request) error {
	lq, err := listQuery(r, id.Call)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	lq.SessionID, lq.Status, lq.Direction = q.Get("session_id"), q.Get("status"), q.Get("direction")
	if sid := r.PathValue("id"); sid != "" {
		if _, err := s.sessions.Get(r.Context(), info(r).scope, sid); err != nil {
			return err
		}
		lq.SessionID = sid
	}
	if lq.Direction != "" && lq.Direction != "inbound" && lq.Direction != "outbound" {
		return invalidParam("direction", "invalid_request", "direction must be inbound or outbound.")
	}
	if lq.Status != "" && !validCallStatus(lq.Status) {
		return invalidParam("status", "invalid_request", "status must be a call status (dialing, ringing, answered, ended, failed, busy, no_answer, canceled).")
	}
	calls, more, err := s.sessions.ListCalls(r.Context(), info(r).scope, lq)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newList(r, calls, more, func(c session.Call) string { return c.ID }))
	return nil
}

func validCallStatus(s string) bool {
	switch session.CallStatus(s) {
	case session.CallDialing, session.CallRinging, session.CallAnswered, session.CallEnded,
		session.CallFailed, session.CallBusy, session.CallNoAnswer, session.CallCanceled:
		return true
	}
	return false
}

// createCalls serves POST /v1/calls: an agent calls one number, or each of a list.
func (s *Server) createCalls(w http.ResponseWriter, r *http.Request) error {
	var p session.AgentCallParams
	if err := decode(r, &p); err != nil {
		return err
	}
	calls, err := s.sessions.CallAgent(r.Context(), info(r).scope, p)
	if err != nil {
		return err
	}
	if len(p.To) > 0 && p.To[0] == '[' {
		writeJSON(w, http.StatusCreated, newList(r, calls, false, func(c session.Call) string { return c.ID }))
		return nil
	}
	writeJSON(w, http.StatusCreated, calls[0])
	return nil
}
