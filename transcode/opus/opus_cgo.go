//go:build cgo

package opus

import (
	"fmt"
	"slices"

	hopus "github.com/hraban/opus"
	"github.com/voxgate/voxgate/media"
)

// Encoder encodes mono PCM into Opus packets.
type Encoder struct {
	enc  *hopus.Encoder
	rate int
	band hopus.Bandwidth // the encoder's maximum audio bandwidth now
	// silent: the last frame coded was digital silence (or none was).
	silent bool
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
	return &Encoder{enc: enc, rate: cfg.SampleRate, band: hopus.Fullband, silent: true}, nil
}

// SampleRate returns the rate of the PCM the encoder takes.
func (e *Encoder) SampleRate() int { return e.rate }

// Encode codes one frame of pcm (2.5, 5, 10, 20, 40 or 60 ms at the
// encoder's rate) into data and returns the packet length.
func (e *Encoder) Encode(pcm []int16, data []byte) (int, error) {
	if len(pcm) == 0 {
		return 0, errEmpty
	}
	e.silent = !slices.ContainsFunc(pcm, func(v int16) bool { return v != 0 })
	n, err := e.enc.Encode(pcm, data)
	if err != nil {
		return 0, fmt.Errorf("opus encode %d samples: %w", len(pcm), err)
	}
	return n, nil
}

// LimitBand tells the encoder that the PCM it gets from now on holds
// nothing above half of rate (0: no limit), as when it is telephone audio
// resampled up: libopus then codes that band alone (narrowband SILK for
// 8000), about half the work of wideband at the same bitrate, and its bits
// all go to what is there. An encoder whose last frame was digital silence
// (or that has coded none) starts afresh in the new band on its next frame,
// which nobody hears; otherwise libopus moves there smoothly: from wide to
// narrow in two steps of about 4 s, from narrow to wide through the medium
// band, at once, then wide after about 5 s.
func (e *Encoder) LimitBand(rate int) error {
	band := bandFor(rate)
	if band == e.band {
		return nil
	}
	if e.silent {
		if err := e.enc.Reset(); err != nil {
			return fmt.Errorf("opus reset: %w", err)
		}
	}
	if err := e.enc.SetMaxBandwidth(band); err != nil {
		return fmt.Errorf("opus bandwidth %d Hz: %w", rate, err)
	}
	e.band = band
	return nil
}

// bandFor is libopus's narrowest bandwidth that holds audio sampled at rate.
func bandFor(rate int) hopus.Bandwidth {
	switch {
	case rate <= 0:
		return hopus.Fullband
	case rate <= 8000:
		return hopus.Narrowband
	case rate <= 12000:
		return hopus.Mediumband
	case rate <= 16000:
		return hopus.Wideband
	case rate <= 24000:
		return hopus.SuperWideband
	}
	return hopus.Fullband
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
