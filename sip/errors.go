package sip

import "errors"

var (
	// ErrBadSDP means a session description could not be read.
	ErrBadSDP = errors.New("sip: malformed SDP")
	// ErrNoCommonCodec means an offer or answer has no codec voxgate speaks (488).
	ErrNoCommonCodec = errors.New("sip: no common codec")
	// ErrRemoteBye means the far end hung up.
	ErrRemoteBye = errors.New("sip: remote hung up")

	errServerClosed = errors.New("sip: server closed")
	errMaxDuration  = errors.New("sip: max duration reached")
)
