package webhook

import (
	"errors"
	"fmt"
)

var (
	// ErrNotFound means no such webhook endpoint in the scope.
	ErrNotFound = errors.New("webhook: endpoint not found")
	// errPrivateAddress refuses a connection to a loopback or private address.
	errPrivateAddress = errors.New("webhook: the URL resolves to a loopback or private address")
)

// InvalidError is a request that cannot be carried out as given.
type InvalidError struct {
	Param   string // the request field at fault
	Code    string // invalid_request, invalid_url, url_not_allowed, unknown_event
	Message string
}

func (e *InvalidError) Error() string { return fmt.Sprintf("%s: %s", e.Param, e.Message) }

func invalid(param, code, format string, args ...any) error {
	return &InvalidError{Param: param, Code: code, Message: fmt.Sprintf(format, args...)}
}
