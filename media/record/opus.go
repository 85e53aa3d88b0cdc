package record

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"

	"github.com/voxgate/voxgate/transcode/opus"
)

const (
	// opusPreSkip is the number of 48 kHz samples a decoder drops at the
	// start: libopus's lookahead of 6.5 ms in VoIP mode.
	opusPreSkip = 312
	// opusFrame is the packet duration, in 48 kHz samples (20 ms).
	opusFrame = 960
	// opusBitrate is the bit rate of each channel.
	opusBitrate = 24000
	// opusPageBytes is how much audio is gathered into one Ogg page.
	opusPageBytes = 4000
)

// opusEncoder encodes Opus in Ogg (RFC 7845) in 20 ms packets, with one
// mono stream per channel: a mixed file is a plain mono stream (channel
// mapping family 0), a dual file two uncoupled streams (family 1), so that
// each side is coded on its own, as the voice it is, with no crosstalk.
type opusEncoder struct {
	encs    []*opus.Encoder // one per channel
	ogg     oggWriter
	rate    int
	frame   []int16  // an interleaved 20 ms frame being filled
	mono    []int16  // one channel of it
	packets [][]byte // the packet of each stream
	packet  []byte   // the packet of all streams
	in      int64    // samples per channel taken in
	count   int64    // packets written
}

func newOggOpus(w io.Writer, rate, channels int) (*opusEncoder, error) {
	n := rate / 50
	e := &opusEncoder{
		ogg:     oggWriter{w: w, serial: rand.Uint32()},
		rate:    rate,
		frame:   make([]int16, 0, n*channels),
		mono:    make([]int16, n),
		packets: make([][]byte, channels),
		packet:  make([]byte, 0, channels*(opus.MaxPacketSize+2)),
	}
	for i := range channels {
		enc, err := opus.NewEncoder(opus.EncoderConfig{SampleRate: rate, Bitrate: opusBitrate})
		if err != nil {
			return nil, err
		}
		e.encs = append(e.encs, enc)
		e.packets[i] = make([]byte, opus.MaxPacketSize)
	}

	le := binary.LittleEndian
	head := []byte("OpusHead\x01")
	head = append(head, byte(channels))
	head = le.AppendUint16(head, opusPreSkip)
	head = le.AppendUint32(head, uint32(rate))
	head = append(head, 0, 0) // output gain 0 dB
	if channels == 1 {
		head = append(head, 0) // mapping family 0: one mono stream
	} else {
		// Family 1: 2 streams, none coupled, channel i is stream i.
		head = append(head, 1, 2, 0, 0, 1)
	}
	tags := []byte("OpusTags")
	tags = le.AppendUint32(tags, uint32(len("voxgate")))
	tags = append(tags, "voxgate"...)
	tags = le.AppendUint32(tags, 0) // no user comments
	// Each header packet has a page of its own (RFC 7845, section 3).
	if err := e.ogg.add(head, 0); err != nil {
		return nil, err
	}
	if err := e.ogg.flush(oggBOS); err != nil {
		return nil, err
	}
	if err := e.ogg.add(tags, 0); err != nil {
		return nil, err
	}
	return e, e.ogg.flush(0)
}

func (e *opusEncoder) encode(pcm []int16) error {
	e.in += int64(len(pcm) / len(e.encs))
	for len(pcm) > 0 {
		n := min(len(pcm), cap(e.frame)-len(e.frame))
		e.frame = append(e.frame, pcm[:n]...)
		pcm = pcm[n:]
		if len(e.frame) == cap(e.frame) {
			if err := e.encodeFrame(); err != nil {
				return err
			}
		}
	}
	return nil
}

// encodeFrame encodes the full frame and adds the packet to the page,
// first writing out the page if it holds enough.
func (e *opusEncoder) encodeFrame() error {
	e.packet = e.packet[:0]
	for c, enc := range e.encs {
		for i := range e.mono {
			e.mono[i] = e.frame[i*len(e.encs)+c]
		}
		n, err := enc.Encode(e.mono, e.packets[c])
		if err != nil {
			return err
		}
		p := e.packets[c][:n]
		if c < len(e.encs)-1 {
			// Every stream but the last is self-delimited (RFC 6716, appendix B).
			if e.packet, err = appendSelfDelimited(e.packet, p); err != nil {
				return err
			}
		} else {
			e.packet = append(e.packet, p...)
		}
	}
	e.frame = e.frame[:0]
	if e.ogg.pending() >= opusPageBytes {
		if err := e.ogg.flush(0); err != nil {
			return err
		}
	}
	e.count++
	return e.ogg.add(e.packet, e.count*opusFrame)
}

// appendSelfDelimited appends packet p in self-delimiting framing: the same
// bytes with the length of the last frame coded after the frame lengths that
// are already there. Only codes 0 to 2 (at most two frames) occur for the
// 20 ms VBR frames encoded here.
func appendSelfDelimited(dst, p []byte) ([]byte, error) {
	if len(p) == 0 {
		return dst, fmt.Errorf("%w: empty packet", errOpusFraming)
	}
	toc, body := p[0], p[1:]
	switch toc & 3 {
	case 0: // one frame
		dst = append(dst, toc)
		dst = appendFrameLength(dst, len(body))
	case 1: // two frames of equal size
		dst = append(dst, toc)
		dst = appendFrameLength(dst, len(body)/2)
	case 2: // two frames, the first one's length coded
		n, k := frameLength(body)
		if k == 0 || k+n > len(body) {
			return dst, fmt.Errorf("%w: bad code 2 packet", errOpusFraming)
		}
		dst = append(dst, toc)
		dst = append(dst, body[:k]...)
		dst = appendFrameLength(dst, len(body)-k-n)
		body = body[k:]
	default:
		return dst, fmt.Errorf("%w: code 3 packet", errOpusFraming)
	}
	return append(dst, body...), nil
}

// appendFrameLength appends n in the one- or two-byte coding of RFC 6716,
// section 3.2.1.
func appendFrameLength(dst []byte, n int) []byte {
	if n < 252 {
		return append(dst, byte(n))
	}
	b0 := 252 + (n-252)%4
	return append(dst, byte(b0), byte((n-b0)/4))
}

// frameLength decodes a length coded by appendFrameLength from b and returns
// it and the number of bytes it took, 0 if b is too short.
func frameLength(b []byte) (n, size int) {
	switch {
	case len(b) < 1:
		return 0, 0
	case b[0] < 252:
		return int(b[0]), 1
	case len(b) < 2:
		return 0, 0
	}
	return int(b[0]) + 4*int(b[1]), 2
}

// flush pads the last frame with silence, adds frames until the decoder has
// produced every input sample despite the pre-skip, and ends the stream
// with a granule position that trims the padding.
func (e *opusEncoder) flush() error {
	end := opusPreSkip + e.in*48000/int64(e.rate)
	for len(e.frame) > 0 || e.count*opusFrame < end {
		n := len(e.frame)
		e.frame = e.frame[:cap(e.frame)]
		clear(e.frame[n:])
		if err := e.encodeFrame(); err != nil {
			return err
		}
	}
	e.ogg.granule = end
	return e.ogg.flush(oggEOS)
}

// close does nothing: the encoders hold only Go memory.
func (e *opusEncoder) close() {}
