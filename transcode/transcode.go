// Package transcode converts audio between the gateway's formats: G.711
// (PCMU, PCMA), G.722, Opus and linear PCM (L16) at 8, 16, 24 and 48 kHz.
//
// Chain composes decode → resample → encode as media.Writer stages that
// reuse their buffers, so a steady stream of 20 ms frames allocates nothing.
// Lost frames (media.Frame.Missing) are concealed: Opus by its own packet
// loss concealment, the other codecs by repeating the last good frame while
// fading it out. The codecs themselves live in the g711, g722 and opus
// subpackages; Lookup and Codecs describe them by SDP name.
//
// The package never logs: errors are returned, and decode failures are
// counted in Stats.
package transcode

// Decoder decodes one encoded frame into PCM and returns the number of
// samples written. g711.Law, *g722.Decoder and *opus.Decoder implement it.
type Decoder interface {
	Decode(data []byte, pcm []int16) (int, error)
}

// Encoder encodes PCM into one encoded frame and returns the number of bytes
// written. g711.Law, *g722.Encoder and *opus.Encoder implement it.
type Encoder interface {
	Encode(pcm []int16, data []byte) (int, error)
}

// BandLimiter is implemented by encoders that code less when told the PCM
// holds nothing above half of rate (0: no limit) (*opus.Encoder).
type BandLimiter interface {
	LimitBand(rate int) error
}

// Concealer is implemented by decoders with their own packet loss
// concealment (*opus.Decoder): Conceal fills pcm with a guess at one lost
// frame and returns the number of samples.
type Concealer interface {
	Conceal(pcm []int16) (int, error)
}
