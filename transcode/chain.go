package transcode

import (
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/voxgate/voxgate/media"
	"github.com/voxgate/voxgate/transcode/opus"
)

// Config tunes the encoders that Chain builds. The zero value is ready.
type Config struct {
	// Opus configures Opus encoders; its SampleRate is chosen by the chain.
	Opus opus.EncoderConfig `yaml:"opus"`
}

// Validate reports a configuration the encoders would refuse.
func (c Config) Validate() error {
	oc := c.Opus
	oc.SampleRate = 0
	return oc.Validate()
}

// Chain returns a Pipeline that converts frames of format from into frames
// of format to and writes them to next, with the default Config.
func Chain(from, to media.Format, next media.Writer) (*Pipeline, error) {
	return Config{}.Chain(from, to, next)
}

// Chain returns a Pipeline that converts frames of format from into frames
// of format to and writes them to next: decode (and conceal lost frames),
// resample when the rates differ, encode. Decoders and encoders that handle
// a rate natively are used at it (Opus decodes straight to 16 kHz for an L16
// 16 kHz target), so resampling happens only where needed. When from and to
// are the same, frames go to next unchanged, Missing ones included.
//
// Formats are mono; Opus may say 2 channels, as its SDP rtpmap does, and is
// decoded to mono. L16 rates are those of ResampleRates.
func (c Config) Chain(from, to media.Format, next media.Writer) (*Pipeline, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("transcode config: %w", err)
	}
	src, err := resolve(from)
	if err != nil {
		return nil, err
	}
	dst, err := resolve(to)
	if err != nil {
		return nil, err
	}
	p := &Pipeline{}
	from, to = src.Format(from.SampleRate), dst.Format(to.SampleRate)
	if from == to {
		p.head = next
		return p, nil
	}
	decRate, encRate := pickRates(src, from, dst, to)

	w, label := next, ""
	if dst.IsPCM() {
		label = to.String()
	} else {
		enc, err := dst.newEncoder(encRate, c)
		if err != nil {
			return nil, fmt.Errorf("chain %v to %v: %w", from, to, err)
		}
		w = newEncodeStage(dst, to, enc, encRate, &p.stats, w)
		p.band, _ = enc.(BandLimiter)
	}
	if decRate != encRate {
		r, err := NewResampler(decRate, encRate)
		if err != nil {
			return nil, fmt.Errorf("chain %v to %v: %w", from, to, err)
		}
		w, label = &resampleStage{r: r, clock: clock{in: decRate, out: encRate}, next: w, label: label}, ""
	}
	d := &decodeStage{
		name: src.Name, inRate: from.SampleRate, outRate: decRate,
		frameLen: media.SamplesIn(decRate, media.FrameDuration),
		clock:    clock{in: from.SampleRate, out: decRate},
		stats:    &p.stats, next: w, label: label,
	}
	if !src.IsPCM() {
		d.codec = src
		if d.dec, err = src.newDecoder(decRate); err != nil {
			return nil, fmt.Errorf("chain %v to %v: %w", from, to, err)
		}
		d.plc, _ = d.dec.(Concealer)
	}
	p.head = d
	return p, nil
}

// resolve finds the codec of f and checks its rate and channels.
func resolve(f media.Format) (Codec, error) {
	c, ok := Lookup(f.Codec)
	switch {
	case !ok:
		return Codec{}, fmt.Errorf("codec %q: %w", f.Codec, ErrUnsupported)
	case f.NumChannels() > 1 && (c.Name != media.CodecOpus || f.NumChannels() > 2):
		return Codec{}, fmt.Errorf("%v: %d channels: %w", f, f.NumChannels(), ErrUnsupported)
	case c.IsPCM() && !slices.Contains(ResampleRates, f.SampleRate),
		!c.IsPCM() && f.SampleRate != c.SampleRate:
		return Codec{}, fmt.Errorf("%v: rate %d Hz: %w", f, f.SampleRate, ErrUnsupported)
	}
	return c, nil
}

// pickRates chooses the PCM rate between decoder and encoder: a rate both
// handle natively when there is one (highest first), else each side's best
// rate with a resampler between.
func pickRates(src Codec, from media.Format, dst Codec, to media.Format) (dec, enc int) {
	decRates, encRates := src.decodeRates, dst.encodeRates
	if src.IsPCM() {
		decRates = []int{from.SampleRate}
	}
	if dst.IsPCM() {
		encRates = []int{to.SampleRate}
	}
	for _, r := range decRates {
		if slices.Contains(encRates, r) {
			return r, r
		}
	}
	return decRates[0], encRates[0]
}

// Pipeline is the head of a chain built by Chain: a media.Writer whose
// String prints every stage, e.g.
// "PCMU(8000) -> Resample(8000->16000) -> L16/16000 -> WriterFunc".
// Like every Writer it is used by one goroutine at a time; Stats may be
// called from any goroutine.
type Pipeline struct {
	head  media.Writer
	band  BandLimiter // the encoder, when it can use LimitBand
	stats counters
}

// WriteFrame converts f and passes it on.
func (p *Pipeline) WriteFrame(f media.Frame) error { return p.head.WriteFrame(f) }

// LimitBand tells the pipeline's encoder that the PCM written from now on
// holds nothing above half of rate (0: no limit), when the encoder can code
// less for it (Opus); for other pipelines it does nothing. The written
// PCM's own rate may be higher: telephone audio in a 16 kHz mix is limited
// to 8000.
func (p *Pipeline) LimitBand(rate int) error {
	if p.band == nil {
		return nil
	}
	return p.band.LimitBand(rate)
}

// String describes the stages.
func (p *Pipeline) String() string { return media.Describe(p.head) }

// Stats returns a snapshot of the pipeline's counters.
func (p *Pipeline) Stats() Stats {
	return Stats{
		Frames:       p.stats.frames.Load(),
		Concealed:    p.stats.concealed.Load(),
		DecodeErrors: p.stats.decodeErrors.Load(),
		EncodeErrors: p.stats.encodeErrors.Load(),
	}
}

// Stats counts what a pipeline has done.
type Stats struct {
	Frames       uint64 `json:"frames"`        // frames decoded or concealed
	Concealed    uint64 `json:"concealed"`     // frames missing or undecodable, concealed
	DecodeErrors uint64 `json:"decode_errors"` // payloads the decoder rejected
	EncodeErrors uint64 `json:"encode_errors"` // frames the encoder rejected
}

type counters struct {
	frames, concealed, decodeErrors, encodeErrors atomic.Uint64
}

// then prints the rest of a chain after a stage: the output format label
// (for a PCM target) and the next writer.
func then(label string, next media.Writer) string {
	if label != "" {
		return label + " -> " + media.Describe(next)
	}
	return media.Describe(next)
}

// decodeStage turns input frames into PCM at outRate, concealing lost and
// undecodable ones. With no decoder (L16 input) it passes samples through.
type decodeStage struct {
	name            string
	inRate, outRate int
	codec           Codec
	dec             Decoder   // nil for L16
	plc             Concealer // nil when the codec has no concealment
	fade            fader
	pcm             []int16
	frameLen        int // samples of the last good frame: the size to conceal
	clock           clock
	stats           *counters
	next            media.Writer
	label           string
}

func (s *decodeStage) WriteFrame(f media.Frame) error {
	s.stats.frames.Add(1)
	var pcm []int16
	if !f.Missing {
		pcm = s.decode(f)
	}
	if len(pcm) == 0 {
		s.stats.concealed.Add(1)
		pcm = s.conceal()
	} else {
		s.frameLen = len(pcm)
		if s.plc == nil {
			s.fade.remember(pcm)
		}
	}
	return s.next.WriteFrame(media.Frame{Samples: pcm, Timestamp: s.clock.at(f.Timestamp)})
}

// decode returns the PCM of a received frame, or nil if there is none.
func (s *decodeStage) decode(f media.Frame) []int16 {
	if s.dec == nil {
		return f.Samples
	}
	if len(f.Payload) == 0 {
		return nil
	}
	need := s.codec.maxDecoded(len(f.Payload), s.outRate)
	s.pcm = grow(s.pcm, need)
	n, err := s.dec.Decode(f.Payload, s.pcm[:need])
	if err != nil {
		s.stats.decodeErrors.Add(1)
		return nil
	}
	return s.pcm[:n]
}

// conceal returns one frame standing in for a lost one.
func (s *decodeStage) conceal() []int16 {
	s.pcm = grow(s.pcm, s.frameLen)
	pcm := s.pcm[:s.frameLen]
	if s.plc != nil {
		if n, err := s.plc.Conceal(pcm); err == nil {
			return pcm[:n]
		}
	}
	s.fade.conceal(pcm)
	return pcm
}

func (s *decodeStage) String() string {
	if s.inRate == s.outRate {
		return fmt.Sprintf("%s(%d) -> %s", s.name, s.inRate, then(s.label, s.next))
	}
	return fmt.Sprintf("%s(%d->%d) -> %s", s.name, s.inRate, s.outRate, then(s.label, s.next))
}

// resampleStage converts PCM frames between rates.
type resampleStage struct {
	r     *Resampler
	out   []int16
	clock clock
	next  media.Writer
	label string
}

func (s *resampleStage) WriteFrame(f media.Frame) error {
	s.out = s.r.Resample(s.out[:0], f.Samples)
	if len(s.out) == 0 {
		return nil
	}
	return s.next.WriteFrame(media.Frame{Samples: s.out, Timestamp: s.clock.at(f.Timestamp)})
}

func (s *resampleStage) String() string { return s.r.String() + " -> " + then(s.label, s.next) }

// encodeStage encodes PCM at pcmRate into frames of format. Codecs that need
// whole 20 ms frames (Opus) get them: input of other lengths is gathered.
type encodeStage struct {
	codec  Codec
	format media.Format
	enc    Encoder
	frame  int     // PCM samples per encoded frame, or 0 for any
	acc    []int16 // PCM gathered towards the next frame
	accTS  uint32  // timestamp of acc[0], at pcmRate
	data   []byte
	clock  clock
	stats  *counters
	next   media.Writer
}

func newEncodeStage(c Codec, to media.Format, enc Encoder, pcmRate int, stats *counters, next media.Writer) *encodeStage {
	s := &encodeStage{codec: c, format: to, enc: enc, clock: clock{in: pcmRate, out: to.SampleRate}, stats: stats, next: next}
	if c.frame {
		s.frame = media.SamplesIn(pcmRate, media.FrameDuration)
		s.acc = make([]int16, 0, s.frame)
	}
	return s
}

func (s *encodeStage) WriteFrame(f media.Frame) error {
	if s.frame == 0 {
		return s.emit(f.Samples, f.Timestamp)
	}
	var first error
	pcm, ts := f.Samples, f.Timestamp
	for len(pcm) > 0 {
		if len(s.acc) == 0 && len(pcm) >= s.frame {
			first = firstErr(first, s.emit(pcm[:s.frame], ts))
			pcm, ts = pcm[s.frame:], ts+uint32(s.frame)
			continue
		}
		if len(s.acc) == 0 {
			s.accTS = ts
		}
		k := min(s.frame-len(s.acc), len(pcm))
		s.acc = append(s.acc, pcm[:k]...)
		pcm, ts = pcm[k:], ts+uint32(k)
		if len(s.acc) == s.frame {
			first = firstErr(first, s.emit(s.acc, s.accTS))
			s.acc = s.acc[:0]
		}
	}
	return first
}

// emit encodes one frame of PCM starting at ts (at the PCM rate).
func (s *encodeStage) emit(pcm []int16, ts uint32) error {
	if len(pcm) == 0 {
		return nil
	}
	need := s.codec.maxEncoded(len(pcm))
	s.data = grow(s.data, need)
	n, err := s.enc.Encode(pcm, s.data[:need])
	if err != nil {
		s.stats.encodeErrors.Add(1)
		return fmt.Errorf("encode %v: %w", s.format, err)
	}
	if n == 0 {
		return nil
	}
	return s.next.WriteFrame(media.Frame{Payload: s.data[:n], Timestamp: s.clock.at(ts)})
}

func (s *encodeStage) String() string { return s.format.String() + " -> " + media.Describe(s.next) }

// firstErr keeps the first non-nil error.
func firstErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// grow returns buf with a capacity of at least n, keeping no contents.
func grow[T any](buf []T, n int) []T {
	if cap(buf) < n {
		return make([]T, n)
	}
	return buf
}
