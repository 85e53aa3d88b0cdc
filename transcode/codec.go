package transcode

import (
	"slices"
	"strings"

	"github.com/voxgate/voxgate/media"
	"github.com/voxgate/voxgate/transcode/g711"
	"github.com/voxgate/voxgate/transcode/g722"
	"github.com/voxgate/voxgate/transcode/opus"
)

// Codec describes one codec the package can transcode, as SDP names it.
type Codec struct {
	// Name is the SDP encoding name (media.CodecPCMU, ...).
	Name string
	// SampleRate is the audio rate, media.Format.SampleRate; 0 for L16,
	// which comes at any of ResampleRates.
	SampleRate int
	// ClockRate is the RTP clock rate of the SDP rtpmap: 8000 for G.722
	// (RFC 3551), 48000 for Opus; 0 for L16, whose clock is its rate.
	ClockRate int
	// PayloadType is the static RTP payload type of RFC 3551, or -1 when
	// the payload type is dynamic.
	PayloadType int

	// decodeRates and encodeRates are the PCM rates the codec produces and
	// takes without a resampler, best first.
	decodeRates, encodeRates []int
	newDecoder               func(rate int) (Decoder, error)
	newEncoder               func(rate int, cfg Config) (Encoder, error)
	// maxDecoded bounds the samples at rate of one payload of n bytes;
	// maxEncoded bounds the bytes of n samples.
	maxDecoded func(n, rate int) int
	maxEncoded func(n int) int
	// frame: the encoder takes exactly 20 ms of PCM per call.
	frame bool
}

// Format returns the codec's mono media format; for L16, pass the rate.
func (c Codec) Format(rate int) media.Format {
	if c.SampleRate != 0 {
		rate = c.SampleRate
	}
	return media.Format{Codec: c.Name, SampleRate: rate, Channels: 1}
}

// IsPCM reports whether this is linear PCM (L16), which needs no codec.
func (c Codec) IsPCM() bool { return c.Name == media.CodecPCM16 }

var codecs = []Codec{
	g711Codec(media.CodecPCMU, 0, g711.PCMU),
	g711Codec(media.CodecPCMA, 8, g711.PCMA),
	{
		Name: media.CodecG722, SampleRate: 16000, ClockRate: 8000, PayloadType: 9,
		decodeRates: []int{16000}, encodeRates: []int{16000},
		newDecoder: func(int) (Decoder, error) { return g722.NewDecoder(), nil },
		newEncoder: func(int, Config) (Encoder, error) { return g722.NewEncoder(), nil },
		maxDecoded: func(n, _ int) int { return 2 * n },
		maxEncoded: func(n int) int { return (n + 1) / 2 },
	},
	{
		Name: media.CodecOpus, SampleRate: 48000, ClockRate: 48000, PayloadType: -1,
		decodeRates: opus.Rates, encodeRates: opus.Rates,
		newDecoder: func(rate int) (Decoder, error) { return opus.NewDecoder(rate) },
		newEncoder: func(rate int, cfg Config) (Encoder, error) {
			oc := cfg.Opus
			oc.SampleRate = rate
			return opus.NewEncoder(oc)
		},
		maxDecoded: func(_, rate int) int { return media.SamplesIn(rate, opus.MaxDuration) },
		maxEncoded: func(int) int { return opus.MaxPacketSize },
		frame:      true,
	},
	{
		Name: media.CodecPCM16, PayloadType: -1,
		decodeRates: ResampleRates, encodeRates: ResampleRates,
	},
}

func g711Codec(name string, pt int, law g711.Law) Codec {
	return Codec{
		Name: name, SampleRate: 8000, ClockRate: 8000, PayloadType: pt,
		decodeRates: []int{8000}, encodeRates: []int{8000},
		newDecoder: func(int) (Decoder, error) { return law, nil },
		newEncoder: func(int, Config) (Encoder, error) { return law, nil },
		maxDecoded: func(n, _ int) int { return n },
		maxEncoded: func(n int) int { return n },
	}
}

// Lookup returns the codec with the SDP encoding name name, ignoring case
// as SDP does.
func Lookup(name string) (Codec, bool) {
	for _, c := range codecs {
		if strings.EqualFold(c.Name, name) {
			return c, true
		}
	}
	return Codec{}, false
}

// Codecs lists the codecs the package transcodes, in order of preference for
// an SDP offer: PCMU, PCMA, G722, opus, L16.
func Codecs() []Codec { return slices.Clone(codecs) }
