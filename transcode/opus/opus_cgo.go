//go:build cgo

package opus

import (
	"fmt"

	hopus "github.com/hraban/opus"
	"github.com/voxgate/voxgate/media"
)

// Encoder encodes mono PCM into Opus packets.
type Encoder struct {
	enc  *hopus.Encoder
	rate int
}

// NewEncoder returns a mono VoIP encoder configured by cfg.
func NewEncoder(cfg EncoderConfig) (*Encoder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	enc, err := hopus.NewEncoder(cfg.SampleRate, 1, hopus.AppVoIP)
	if err != nil {
		return nil, fmt.Errorf("opus encoder: %w", err)
	}
	for _, set := range []func() error{
		func() error { return enc.SetBitrate(cfg.Bitrate) },
		func() error { return enc.SetComplexity(cfg.Complexity) },
		func() error { return enc.SetInBandFEC(cfg.FEC) },
		func() error { return enc.SetPacketLossPerc(cfg.PacketLossPercent) },
	} {
		if err := set(); err != nil {
			return nil, fmt.Errorf("opus encoder: %w", err)
		}
	}
	return &Encoder{enc: enc, rate: cfg.SampleRate}, nil
}

// SampleRate returns the rate of the PCM the encoder takes.
func (e *Encoder) SampleRate() int { return e.rate }

// Encode codes one frame of pcm (2.5, 5, 10, 20, 40 or 60 ms at the
// encoder's rate) into data and returns the packet length.
func (e *Encoder) Encode(pcm []int16, data []byte) (int, error) {
	if len(pcm) == 0 {
		return 0, errEmpty
	}
	n, err := e.enc.Encode(pcm, data)
	if err != nil {
		return 0, fmt.Errorf("opus encode %d samples: %w", len(pcm), err)
	}
	return n, nil
}

// String names the codec and its input rate.
func (e *Encoder) String() string { return fmt.Sprintf("Opus(%d)", e.rate) }

// Decoder decodes Opus packets into mono PCM and conceals lost ones.
type Decoder struct {
	dec  *hopus.Decoder
	rate int
	max  int // samples in the longest packet at rate
}

// NewDecoder returns a mono decoder producing PCM at rate Hz, one of Rates.
func NewDecoder(rate int) (*Decoder, error) {
	if !validRate(rate) {
		return nil, errRate(rate)
	}
	dec, err := hopus.NewDecoder(rate, 1)
	if err != nil {
		return nil, fmt.Errorf("opus decoder: %w", err)
	}
	return &Decoder{dec: dec, rate: rate, max: media.SamplesIn(rate, MaxDuration)}, nil
}

// SampleRate returns the rate of the PCM the decoder produces.
func (d *Decoder) SampleRate() int { return d.rate }

// Decode decodes one packet into pcm and returns the number of samples. pcm
// should hold 120 ms (the longest packet); a shorter buffer fails for longer
// packets.
func (d *Decoder) Decode(data []byte, pcm []int16) (int, error) {
	if len(data) == 0 {
		return 0, errEmpty
	}
	n, err := d.dec.Decode(data, pcm[:min(len(pcm), d.max):min(len(pcm), d.max)])
	if err != nil {
		return 0, fmt.Errorf("opus decode %d bytes: %w", len(data), err)
	}
	return n, nil
}

// Conceal fills pcm with Opus packet loss concealment for one lost packet,
// extrapolated from the audio decoded so far. It produces len(pcm) samples,
// rounded down to a multiple of 2.5 ms, and returns that count.
func (d *Decoder) Conceal(pcm []int16) (int, error) {
	n := len(pcm) / (d.rate / 400) * (d.rate / 400)
	n = min(n, d.max)
	if n == 0 {
		return 0, errEmpty
	}
	if err := d.dec.DecodePLC(pcm[:n:n]); err != nil {
		return 0, fmt.Errorf("opus conceal %d samples: %w", n, err)
	}
	return n, nil
}

// String names the codec and its output rate.
func (d *Decoder) String() string { return fmt.Sprintf("Opus(%d)", d.rate) }
