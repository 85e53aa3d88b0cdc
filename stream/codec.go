package stream

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"

	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/transcode"
	"github.com/voxgate/voxgate/transcode/g711"
)

// audioFormat is how audio travels on one stream: an encoding and a rate.
type audioFormat struct {
	encoding string // "mulaw", "pcm16" or "none"
	rate     int
}

// parseAudioOption reads the ?audio= option.
func parseAudioOption(v string) (audioFormat, error) {
	switch v {
	case "", "mulaw_8000":
		return audioFormat{"mulaw", 8000}, nil
	case "pcm16_8000":
		return audioFormat{"pcm16", 8000}, nil
	case "pcm16_16000":
		return audioFormat{"pcm16", 16000}, nil
	case "none":
		return audioFormat{"none", 0}, nil
	}
	return audioFormat{}, fmt.Errorf("audio=%q: use mulaw_8000, pcm16_8000, pcm16_16000 or none", v)
}

// inputFormat checks the format of an audio.input message.
func inputFormat(encoding string, rate int) (audioFormat, error) {
	f, ok := inputFormatOf([]byte(encoding), rate)
	if !ok {
		return audioFormat{}, fmt.Errorf("%w: %s at %d Hz (use mulaw at 8000, or pcm16 at 8000, 16000, 24000 or 48000)", errBadAudio, encoding, rate)
	}
	return f, nil
}

// inputFormatOf is the format an audio.input names, if clients may send it.
// It takes bytes so that the plain-form parser allocates nothing.
func inputFormatOf(encoding []byte, rate int) (audioFormat, bool) {
	switch {
	case string(encoding) == "mulaw" && rate == 8000:
		return audioFormat{"mulaw", rate}, true
	case string(encoding) == "pcm16" && (rate == 8000 || rate == 16000 || rate == 24000 || rate == 48000):
		return audioFormat{"pcm16", rate}, true
	}
	return audioFormat{}, false
}

// subscribeOptions asks the session for audio at the stream's rate (the
// session's narrow band for 8 kHz streams), or for none.
func (f audioFormat) subscribeOptions(o session.SubscribeOptions) session.SubscribeOptions {
	o.Narrowband = f.rate == session.NarrowRate
	o.NoAudio = f.encoding == "none"
	return o
}

// encoder turns session audio, which comes at the stream's rate (see
// subscribeOptions), into the stream's encoding.
type encoder struct {
	out audioFormat
	raw []byte
	b64 []byte
}

func newEncoder(out audioFormat) *encoder { return &encoder{out: out} }

// encode converts one frame and returns its bytes (valid until the next call).
func (e *encoder) encode(f *session.AudioFrame) []byte {
	pcm := f.Samples
	switch e.out.encoding {
	case "mulaw":
		e.raw = grow(e.raw, len(pcm))
		n, _ := g711.PCMU.Encode(pcm, e.raw)
		return e.raw[:n]
	default:
		e.raw = grow(e.raw, 2*len(pcm))
		for i, v := range pcm {
			binary.LittleEndian.PutUint16(e.raw[2*i:], uint16(v))
		}
		return e.raw[:2*len(pcm)]
	}
}

// base64 returns the encoded frame in base64 (valid until the next call).
func (e *encoder) base64(raw []byte) []byte {
	e.b64 = grow(e.b64, base64.StdEncoding.EncodedLen(len(raw)))
	base64.StdEncoding.Encode(e.b64, raw)
	return e.b64
}

// decoder turns a client's audio into session audio: 8 kHz stays in the
// session's narrow band, other rates are resampled to its wide band, with a
// resampler per speaker and input format.
type decoder struct {
	rs  map[decoderKey]*transcode.Resampler
	lin []int16
	out []int16
}

type decoderKey struct {
	speaker session.Speaker
	format  audioFormat
}

func newDecoder() *decoder { return &decoder{rs: map[decoderKey]*transcode.Resampler{}} }

// decode returns the payload as PCM at session.NarrowRate (narrow true) or
// session.Rate, valid until the next call.
func (d *decoder) decode(spk session.Speaker, in audioFormat, payload []byte) (pcm []int16, narrow bool, err error) {
	switch in.encoding {
	case "mulaw":
		d.lin = growSamples(d.lin, len(payload))
		n, _ := g711.PCMU.Decode(payload, d.lin)
		d.lin = d.lin[:n]
	case "pcm16":
		if len(payload)%2 != 0 {
			return nil, false, fmt.Errorf("%w: pcm16 payload of odd length %d", errBadAudio, len(payload))
		}
		d.lin = growSamples(d.lin, len(payload)/2)
		for i := range d.lin {
			d.lin[i] = int16(binary.LittleEndian.Uint16(payload[2*i:]))
		}
	default:
		return nil, false, errBadAudio
	}
	if in.rate == session.Rate || in.rate == session.NarrowRate {
		return d.lin, in.rate == session.NarrowRate, nil
	}
	k := decoderKey{spk, in}
	r := d.rs[k]
	if r == nil {
		if r, err = transcode.NewResampler(in.rate, session.Rate); err != nil {
			return nil, false, err
		}
		d.rs[k] = r
	}
	d.out = r.Resample(d.out[:0], d.lin)
	return d.out, false, nil
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

func growSamples(s []int16, n int) []int16 {
	if cap(s) < n {
		return make([]int16, n)
	}
	return s[:n]
}
