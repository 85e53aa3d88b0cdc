package api

import (
	"net/http"

	"github.com/voxgate/voxgate/id"
	"github.com/voxgate/voxgate/session"
)

func (s *Server) createAgent(w http.ResponseWriter, r *http.Request) error {
	var p session.AgentParams
	if err := decode(r, &p); err != nil {
		return err
	}
	a, err := s.sessions.CreateAgent(r.Context(), info(r).scope, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, a)
	return nil
}

func (s *Server) getAgent(w http.ResponseWriter, r *http.Request) error {
	a, err := s.sessions.GetAgent(r.Context(), info(r).scope, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

func (s *Server) listAgents(w http.ResponseWriter, r *http.Request) error {
	lq, err := listQuery(r, id.Agent)
	if err != nil {
		return err
	}
	if st := r.URL.Query().Get("status"); st != "" {
		if st != "active" && st != "inactive" {
			return invalidParam("status", "invalid_request", "status must be active or inactive.")
		}
		lq.Status = st
	}
	agents, more, err := s.sessions.ListAgents(r.Context(), info(r).scope, lq)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newList(r, agents, more, func(a session.Agent) string { return a.ID }))
	return nil
}

func (s *Server) updateAgent(w http.ResponseWriter, r *http.Request) error {
	var p session.AgentParams
	if err := decode(r, &p); err != nil {
		return err
	}
	a, err := s.sessions.UpdateAgent(r.Context(), info(r).scope, r.PathValue("id"), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

func (s *Server) deleteAgent(w http.ResponseWriter, r *http.Request) error {
	if err := s.sessions.DeleteAgent(r.Context(), info(r).scope, r.PathValue("id")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, deleted{ID: r.PathValue("id"), Object: "agent", Deleted: true})
	return nil
}

// deleted is the body of a successful DELETE.
type deleted struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Deleted bool   `json:"deleted"`
}
