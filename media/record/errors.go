package record

import "errors"

var (
	// ErrClosed is returned by writes to a Recorder after Close.
	ErrClosed = errors.New("recording closed")
	// ErrCorrupt means a file is not a 16-bit PCM WAV file that Repair or
	// Export can read: its header is missing or garbage.
	ErrCorrupt = errors.New("not a 16-bit PCM wav file")
	// ErrUnsupportedFormat is returned by Export for a format other than
	// MP3 and Ogg.
	ErrUnsupportedFormat = errors.New("unsupported export format")

	errSampleRate  = errors.New("sample rate must be 8000 or 16000")
	errChannels    = errors.New("channels must be 1 (mixed) or 2 (dual)")
	errSide        = errors.New("unknown side")
	errNotPCM      = errors.New("frame carries no pcm samples")
	errLAME        = errors.New("lame")
	errOpusFraming = errors.New("opus packet framing")
	errTooLong     = errors.New("recording reached the 4 GiB wav limit")
)
