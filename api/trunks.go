package api

import (
	"net/http"

	"github.com/voxgate/voxgate/id"
	"github.com/voxgate/voxgate/session"
)

func (s *Server) createTrunk(w http.ResponseWriter, r *http.Request) error {
	var p session.TrunkParams
	if err := decode(r, &p); err != nil {
		return err
	}
	t, err := s.sessions.CreateTrunk(r.Context(), info(r).scope, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, t.View())
	return nil
}

func (s *Server) getTrunk(w http.ResponseWriter, r *http.Request) error {
	t, err := s.sessions.GetTrunk(r.Context(), info(r).scope, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t.View())
	return nil
}

func (s *Server) updateTrunk(w http.ResponseWriter, r *http.Request) error {
	var p session.TrunkParams
	if err := decode(r, &p); err != nil {
		return err
	}
	t, err := s.sessions.UpdateTrunk(r.Context(), info(r).scope, r.PathValue("id"), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t.View())
	return nil
}

func (s *Server) deleteTrunk(w http.ResponseWriter, r *http.Request) error {
	if err := s.sessions.DeleteTrunk(r.Context(), info(r).scope, r.PathValue("id")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, deleted{ID: r.PathValue("id"), Object: "sip_trunk", Deleted: true})
	return nil
}

func (s *Server) listTrunks(w http.ResponseWriter, r *http.Request) error {
	lq, err := listQuery(r, id.SIPTrunk)
	if err != nil {
		return err
	}
	ts, more, err := s.sessions.ListTrunks(r.Context(), info(r).scope, lq)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newList(r, ts, more, func(t session.TrunkView) string { return t.ID }))
	return nil
}
