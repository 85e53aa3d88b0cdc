package api

import (
	"errors"
	"net/http"

	"github.com/voxgate/voxgate/analysis"
)

// analysisError maps the analysis service's own errors to the envelope.
func analysisError(err error, r *http.Request) error {
	var inv *analysis.InvalidError
	switch {
	case errors.As(err, &inv):
		return invalidParam(inv.Param, "invalid_request", "%s", inv.Message)
	case errors.Is(err, analysis.ErrNotFound):
		return notFound("analysis", r.PathValue("id"))
	case errors.Is(err, analysis.ErrSessionNotEnded):
		return apiError(http.StatusConflict, typeConflict, "session_not_ended",
			"Session %q has not ended: its transcript is not complete. End it, then ask for an analysis.", r.PathValue("id"))
	}
	return err
}

func (s *Server) createAnalysis(w http.ResponseWriter, r *http.Request) error {
	var p analysis.Params
	if err := decode(r, &p); err != nil {
		return err
	}
	a, err := s.analyses.Create(r.Context(), info(r).scope, r.PathValue("id"), p)
	if err != nil {
		return analysisError(err, r)
	}
	writeJSON(w, http.StatusAccepted, a)
	return nil
}

func (s *Server) getAnalysis(w http.ResponseWriter, r *http.Request) error {
	a, err := s.analyses.Get(r.Context(), info(r).scope, r.PathValue("id"))
	if err != nil {
		return analysisError(err, r)
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}
