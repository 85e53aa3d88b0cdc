package session

import (
	"errors"
	"fmt"
)

var (
	// ErrNotFound means no such session, agent or phone number in the scope.
	ErrNotFound = errors.New("session: not found")
	// ErrEnded means the session has ended and cannot take the request.
	ErrEnded = errors.New("session: already ended")
	// ErrConcurrencyLimit means the organization has too many live sessions.
	ErrConcurrencyLimit = errors.New("session: concurrent session limit reached")
	// ErrNumberTaken means the phone number belongs to a phone number record already.
	ErrNumberTaken = errors.New("session: phone number already registered")
	// ErrDraining means the manager is shutting down and takes no new sessions.
	ErrDraining = errors.New("session: draining")
)

// InvalidError is a request that cannot be carried out as given: a field is
// missing, malformed, or names something the gateway cannot do.
type InvalidError struct {
	Param   string // the request field at fault
	Code    string // machine-readable: invalid_request, unsupported_language, ...
	Message string
}

func (e *InvalidError) Error() string { return fmt.Sprintf("%s: %s", e.Param, e.Message) }

func invalid(param, code, format string, args ...any) error {
	return &InvalidError{Param: param, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Codes of InvalidError.
const (
	CodeInvalidRequest      = "invalid_request"
	CodeUnsupportedLanguage = "unsupported_language"
	CodeUnsupportedRouting  = "unsupported_routing"
	CodeAgentNotFound       = "agent_not_found"
	CodeAIAgentNotFound     = "ai_agent_not_found"
	CodePhoneNumberNotFound = "phone_number_not_found"
)
