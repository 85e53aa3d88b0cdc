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

// encoder turns session audio (16 kHz PCM) into one stream's format, with a
// resampler per source so that sources never share filter state.
type encoder struct {
	out audioFormat
	rs  map[sourceKey]*transcode.Resampler
	pcm []int16
	raw []byte
	b64 []byte
}

type sourceKey struct {
	speaker session.Speaker
	track   session.Track
}

func newEncoder(out audioFormat) *encoder {
	return &encoder{out: out, rs: map[sourceKey]*transcode.Resampler{}}
}

// encode converts one frame and returns its bytes (valid until the next call).
func (e *encoder) encode(f *session.AudioFrame) []byte {
	pcm := f.Samples
	if e.out.rate != session.Rate {
		k := sourceKey{f.Speaker, f.Track}
		r := e.rs[k]
		if r == nil {
			r, _ = transcode.NewResampler(session.Rate, e.out.rate) // rates are fixed and valid
			e.rs[k] = r
		}
		e.pcm = r.Resample(e.pcm[:0], pcm)
		pcm = e.pcm
	}
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

// decoder turns a client's audio into session audio, with a resampler per
// speaker and input format.
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

// decode returns the payload as 16 kHz PCM (valid until the next call).
func (d *decoder) decode(spk session.Speaker, in audioFormat, payload []byte) ([]int16, error) {
	switch in.encoding {
	case "mulaw":
		d.lin = growSamples(d.lin, len(payload))
		n, _ := g711.PCMU.Decode(payload, d.lin)
		d.lin = d.lin[:n]
	case "pcm16":
		if len(payload)%2 != 0 {
			return nil, fmt.Errorf("%w: pcm16 payload of odd length %d", errBadAudio, len(payload))
		}
		d.lin = growSamples(d.lin, len(payload)/2)
		for i := range d.lin {
			d.lin[i] = int16(binary.LittleEndian.Uint16(payload[2*i:]))
		}
	default:
		return nil, errBadAudio
	}
	if in.rate == session.Rate {
		return d.lin, nil
	}
	k := decoderKey{spk, in}
	r := d.rs[k]
	if r == nil {
		var err error
		if r, err = transcode.NewResampler(in.rate, session.Rate); err != nil {
			return nil, err
		}
		d.rs[k] = r
	}
	d.out = r.Resample(d.out[:0], d.lin)
	return d.out, nil
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
