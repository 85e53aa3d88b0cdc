package mediatest

import "errors"

var errNotWAV = errors.New("not a 16-bit mono PCM WAV file")
