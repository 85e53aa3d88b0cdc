//go:build !cgo

package record

import (
	"fmt"
	"io"
)

// mp3Encoder is unavailable without cgo: LAME is a C library.
type mp3Encoder struct{}

func newMP3(io.Writer, int, int) (*mp3Encoder, error) {
	return nil, fmt.Errorf("%w: unavailable in a build without cgo", errLAME)
}

func (*mp3Encoder) encode([]int16) error { return nil }
func (*mp3Encoder) flush() error         { return nil }
func (*mp3Encoder) close()               {}
