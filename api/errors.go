package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/webhook"
)

// Error is an API error: the HTTP status and the body of the error envelope.
// Handlers return it (or any error, which becomes a 500 that leaks nothing).
type Error struct {
	Status     int            `json:"-"`
	Type       string         `json:"type"`
	Code       string         `json:"code"`
	Message    string         `json:"message"`
	Param      string         `json:"param,omitempty"`
	Details    map[string]any `json:"details,omitempty"`
	RequestID  string         `json:"request_id"`
	RetryAfter int            `json:"retry_after,omitempty"` // seconds
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// Error types of the envelope (SPEC §1).
const (
	typeAuthentication = "authentication_error"
	typePermission     = "permission_error"
	typeValidation     = "validation_error"
	typeInvalidRequest = "invalid_request_error"
	typeNotFound       = "not_found_error"
	typeConflict       = "conflict_error"
	typeRateLimit      = "rate_limit_error"
	typeAPI            = "api_error"
)

func apiError(status int, typ, code, format string, args ...any) *Error {
	return &Error{Status: status, Type: typ, Code: code, Message: fmt.Sprintf(format, args...)}
}

func invalidParam(param, code, format string, args ...any) *Error {
	e := apiError(http.StatusBadRequest, typeValidation, code, format, args...)
	e.Param = param
	return e
}

func notFound(resource, id string) *Error {
	return apiError(http.StatusNotFound, typeNotFound, resource+"_not_found", "No %s with id %q.", resource, id)
}

var errInternal = apiError(http.StatusInternalServerError, typeAPI, "internal_error", "An internal error occurred. Retry later; quote the request_id if it persists.")

// asAPIError maps an error from a handler to the envelope. resource names
// what a session.ErrNotFound refers to.
func asAPIError(err error, resource, resourceID string) *Error {
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	var (
		inv     *session.InvalidError
		whInv   *webhook.InvalidError
		dialErr *session.DialError
	)
	switch {
	case errors.As(err, &inv):
		return invalidParam(inv.Param, inv.Code, "%s", inv.Message)
	case errors.As(err, &whInv):
		return invalidParam(whInv.Param, whInv.Code, "%s", whInv.Message)
	case errors.Is(err, session.ErrNotFound), errors.Is(err, webhook.ErrNotFound):
		return notFound(resource, resourceID)
	case errors.Is(err, session.ErrEnded):
		return apiError(http.StatusConflict, typeConflict, "session_ended", "Session %q has ended.", resourceID)
	case errors.Is(err, session.ErrConcurrencyLimit):
		e := apiError(http.StatusTooManyRequests, typeRateLimit, "concurrent_session_limit",
			"Your organization has reached its limit of concurrent sessions. End a session or retry later.")
		e.RetryAfter = 5
		return e
	case errors.Is(err, session.ErrNumberTaken):
		e := apiError(http.StatusConflict, typeConflict, "phone_number_exists", "That phone number is already registered.")
		e.Param = "number"
		return e
	case errors.As(err, &dialErr):
		e := apiError(http.StatusBadGateway, "upstream_error", "sip_dial_failed", "The call could not be placed: %d %s.", dialErr.SIPStatus, dialErr.Reason)
		e.Details = map[string]any{"sip_status": dialErr.SIPStatus, "reason": dialErr.Reason}
		return e
	case errors.Is(err, session.ErrNoDialer):
		return apiError(http.StatusServiceUnavailable, typeAPI, "sip_unavailable", "SIP is not running on this gateway.")
	case errors.Is(err, session.ErrDraining):
		e := apiError(http.StatusServiceUnavailable, typeAPI, "draining", "The gateway is shutting down; retry on another node.")
		e.RetryAfter = 5
		return e
	}
	return nil
}

func (e *Error) headers(h http.Header) {
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
}
