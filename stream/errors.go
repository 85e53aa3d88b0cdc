package stream

import "errors"

// Close codes of the /connect stream (SPEC §4.1), beyond the standard ones.
const (
	CloseInvalidToken   = 4001 // invalid or expired token
	CloseNoSession      = 4004 // no such session
	CloseSlowConsumer   = 4008 // the client could not keep up
	CloseSessionEnded   = 4009 // the session has ended
	CloseTooManyClients = 4029 // the session has its maximum of subscribers
	CloseBadQuery       = 4000 // an unknown audio, binary or tracks option
)

var (
	errBadMessage = errors.New("stream: invalid message")
	errBadAudio   = errors.New("stream: invalid audio format")
)
