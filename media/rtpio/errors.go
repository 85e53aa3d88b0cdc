package rtpio

import "errors"

var (
	// ErrMediaTimeout means no RTP arrived for the media timeout while the
	// call was not on hold.
	ErrMediaTimeout = errors.New("rtpio: media timeout")
	// ErrClosed means the connection was closed.
	ErrClosed = errors.New("rtpio: closed")
	// ErrNoRemote means there is nowhere to send yet: no remote address was
	// given and none was learnt from incoming RTP.
	ErrNoRemote = errors.New("rtpio: no remote address")
)
