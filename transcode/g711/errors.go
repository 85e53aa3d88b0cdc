package g711

import "errors"

var (
	errShortBuffer = errors.New("g711: output buffer too short")
	errInvalidLaw  = errors.New("g711: invalid law")
)
