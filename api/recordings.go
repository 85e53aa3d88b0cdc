package api

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"

	"github.com/voxgate/voxgate/id"
	"github.com/voxgate/voxgate/session"
)

func (s *Server) listRecordings(w http.ResponseWriter, r *http.Request) error {
	lq, err := listQuery(r, id.Recording)
	if err != nil {
		return err
	}
	recs, more, err := s.sessions.ListRecordings(r.Context(), info(r).scope, r.PathValue("id"), lq)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newList(r, recs, more, func(rf session.RecordingFile) string { return rf.ID }))
	return nil
}

func (s *Server) getRecording(w http.ResponseWriter, r *http.Request) error {
	rec, err := s.sessions.GetRecording(r.Context(), info(r).scope, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rec)
	return nil
}

// audioTypes are the download formats and their media types.
var audioTypes = map[string]string{"wav": "audio/wav", "mp3": "audio/mpeg", "ogg": "audio/ogg"}

// recordingAudio serves a recording's file with Content-Length, Range and
// a download name (http.ServeContent).
func (s *Server) recordingAudio(w http.ResponseWriter, r *http.Request) error {
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "wav"
	}
	ctype, ok := audioTypes[format]
	if !ok {
		return invalidParam("format", "invalid_request", "format must be wav, mp3 or ogg.")
	}
	path, err := s.sessions.RecordingAudio(r.Context(), info(r).scope, r.PathValue("id"), format)
	if errors.Is(err, session.ErrRecordingNotReady) {
		return apiError(http.StatusConflict, typeConflict, "recording_not_ready", "Recording %q is not ready.", r.PathValue("id"))
	}
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="`+r.PathValue("id")+filepath.Ext(path)+`"`)
	http.ServeContent(w, r, "", st.ModTime(), f)
	return nil
}

func (s *Server) getTranscript(w http.ResponseWriter, r *http.Request) error {
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "text" && format != "srt" && format != "vtt" {
		return invalidParam("format", "invalid_request", "format must be json, text, srt or vtt.")
	}
	tr, err := s.sessions.Transcript(r.Context(), info(r).scope, r.PathValue("id"))
	if err != nil {
		return err
	}
	var body, ctype string
	switch format {
	case "", "json":
		writeJSON(w, http.StatusOK, tr)
		return nil
	case "text":
		body, ctype = tr.Text(), "text/plain; charset=utf-8"
	case "srt":
		body, ctype = tr.SRT(), "application/x-subrip; charset=utf-8"
	case "vtt":
		body, ctype = tr.VTT(), "text/vtt; charset=utf-8"
	}
	w.Header().Set("Content-Type", ctype)
	_, _ = w.Write([]byte(body))
	return nil
}
