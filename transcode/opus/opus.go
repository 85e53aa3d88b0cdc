// Package opus codes Opus (RFC 6716) over libopus through
// github.com/hraban/opus. It is the only cgo package of voxgate; built
// without cgo, NewEncoder and NewDecoder return ErrUnavailable.
//
// The stream is mono and its RTP clock is 48 kHz, but libopus encodes from
// and decodes to 8, 12, 16, 24 or 48 kHz PCM directly, which often saves a
// resampling step. Neither type is safe for concurrent use.
package opus

import "time"

// Rates lists the PCM sample rates libopus accepts and produces, highest first.
var Rates = []int{48000, 24000, 16000, 12000, 8000}

// MaxPacketSize bounds an encoded Opus packet (RFC 6716, §3.2.1).
const MaxPacketSize = 1275

// MaxDuration is the longest audio one Opus packet can carry.
const MaxDuration = 120 * time.Millisecond

// Defaults of EncoderConfig.
const (
	DefaultBitrate    = 32000
	DefaultComplexity = 5
)

// EncoderConfig configures an Encoder. The zero value is a 48 kHz VoIP
// encoder at DefaultBitrate and DefaultComplexity without in-band FEC.
type EncoderConfig struct {
	// SampleRate is the rate of the PCM given to Encode; 0 means 48000.
	SampleRate int `yaml:"sample_rate"`
	// Bitrate in bits per second, 6000 to 510000; 0 means DefaultBitrate.
	Bitrate int `yaml:"bitrate"`
	// Complexity trades CPU for quality, 1 to 10; 0 means DefaultComplexity.
	Complexity int `yaml:"complexity"`
	// FEC turns on in-band forward error correction, tuned for
	// PacketLossPercent expected loss.
	FEC               bool `yaml:"fec"`
	PacketLossPercent int  `yaml:"packet_loss_percent"`
}

func (c EncoderConfig) withDefaults() EncoderConfig {
	if c.SampleRate == 0 {
		c.SampleRate = 48000
	}
	if c.Bitrate == 0 {
		c.Bitrate = DefaultBitrate
	}
	if c.Complexity == 0 {
		c.Complexity = DefaultComplexity
	}
	return c
}

// Validate reports a configuration libopus would refuse.
func (c EncoderConfig) Validate() error {
	c = c.withDefaults()
	switch {
	case !validRate(c.SampleRate):
		return errRate(c.SampleRate)
	case c.Bitrate < 6000 || c.Bitrate > 510000:
		return errBitrate
	case c.Complexity < 1 || c.Complexity > 10:
		return errComplexity
	case c.PacketLossPercent < 0 || c.PacketLossPercent > 100:
		return errPacketLoss
	}
	return nil
}

func validRate(rate int) bool {
	for _, r := range Rates {
		if r == rate {
			return true
		}
	}
	return false
}
