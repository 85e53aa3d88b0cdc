package g722

import "errors"

var errShortBuffer = errors.New("g722: output buffer too short")
