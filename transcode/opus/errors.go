package opus

import (
	"errors"
	"fmt"
)

// ErrUnavailable is returned by NewEncoder and NewDecoder in builds without
// cgo, where libopus cannot be linked.
var ErrUnavailable = errors.New("opus: unavailable in a build without cgo")

var (
	errEmpty      = errors.New("opus: empty frame")
	errBitrate    = errors.New("opus: bitrate out of range 6000-510000")
	errComplexity = errors.New("opus: complexity out of range 1-10")
	errPacketLoss = errors.New("opus: packet loss percent out of range 0-100")
)

func errRate(rate int) error {
	return fmt.Errorf("opus: unsupported sample rate %d (want 8000, 12000, 16000, 24000 or 48000)", rate)
}
