package api

import (
	"net/http"

	"github.com/voxgate/voxgate/id"
	"github.com/voxgate/voxgate/session"
)

func (s *Server) createPhoneNumber(w http.ResponseWriter, r *http.Request) error {
	var p session.PhoneNumberParams
	if err := decode(r, &p); err != nil {
		return err
	}
	n, err := s.sessions.CreatePhoneNumber(r.Context(), info(r).scope, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, n)
	return nil
}

func (s *Server) getPhoneNumber(w http.ResponseWriter, r *http.Request) error {
	n, err := s.sessions.GetPhoneNumber(r.Context(), info(r).scope, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, n)
	return nil
}

func (s *Server) listPhoneNumbers(w http.ResponseWriter, r *http.Request) error {
	lq, err := listQuery(r, id.PhoneNumber)
	if err != nil {
		return err
	}
	nums, more, err := s.sessions.ListPhoneNumbers(r.Context(), info(r).scope, lq)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newList(r, nums, more, func(n session.PhoneNumber) string { return n.ID }))
	return nil
}

func (s *Server) deletePhoneNumber(w http.ResponseWriter, r *http.Request) error {
	if err := s.sessions.DeletePhoneNumber(r.Context(), info(r).scope, r.PathValue("id")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, deleted{ID: r.PathValue("id"), Object: "phone_number", Deleted: true})
	return nil
}
