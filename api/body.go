package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// withBody reads the request body (413 past the limit, 415 without a JSON
// content type) so that later stages can hash and decode it.
func (s *Server) withBody(next apiHandler) apiHandler {
	return func(w http.ResponseWriter, r *http.Request) error {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return apiError(http.StatusRequestEntityTooLarge, typeInvalidRequest, "body_too_large",
				"Request body is larger than %d bytes.", tooBig.Limit)
		}
		if err != nil {
			return apiError(http.StatusBadRequest, typeInvalidRequest, "body_unreadable", "Request body could not be read.")
		}
		if len(bytes.TrimSpace(body)) > 0 {
			mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if err != nil || mt != "application/json" {
				return apiError(http.StatusUnsupportedMediaType, typeInvalidRequest, "unsupported_media_type",
					"Send JSON bodies with 'Content-Type: application/json'.")
			}
		}
		info(r).body = body
		return next(w, r)
	}
}

// decode parses the request body into v. An empty body is an empty object.
// Unparseable JSON is 422; a field of the wrong type is 400 naming the field.
func decode(r *http.Request, v any) error {
	body := bytes.TrimSpace(info(r).body)
	if len(body) == 0 {
		body = []byte("{}")
	}
	if body[0] != '{' {
		if json.Valid(body) {
			return invalidParam("", "invalid_request", "The request body must be a JSON object.")
		}
		return unparseable(nil)
	}
	err := json.Unmarshal(body, v)
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return invalidParam("", "invalid_request", "The request body must be a JSON object.")
		}
		return invalidParam(field, "invalid_request", "%s must be %s, not %s.", field, describeType(typeErr.Type.String()), typeErr.Value)
	}
	return unparseable(err)
}

func unparseable(err error) *Error {
	msg := "The request body is not valid JSON."
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		msg = fmt.Sprintf("The request body is not valid JSON (offset %d: %s).", syn.Offset, syn.Error())
	}
	return apiError(http.StatusUnprocessableEntity, typeInvalidRequest, "invalid_json", "%s", msg)
}

// describeType turns a Go type into the JSON words a client understands.
func describeType(t string) string {
	t = strings.TrimLeft(t, "*")
	switch {
	case t == "string":
		return "a string"
	case t == "bool":
		return "a boolean"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "an integer"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case strings.HasPrefix(t, "[]"):
		return "an array"
	case strings.HasPrefix(t, "map"), strings.Contains(t, "."):
		return "an object"
	}
	return "a " + t
}
