//go:build cgo

package record

// #cgo LDFLAGS: -lmp3lame
// #include <lame/lame.h>
import "C"

import (
	"fmt"
	"io"
	"unsafe"
)

// mp3Encoder encodes with LAME at a constant 3 bits per sample: 24 kbit/s
// for 8 kHz mono up to 96 kbit/s for 16 kHz stereo. A dual recording is
// coded as plain stereo, not joint stereo, so that no sound of one side
// leaks into the other channel.
type mp3Encoder struct {
	lame     *C.lame_global_flags
	w        io.Writer
	channels int
	buf      []byte
}

func newMP3(w io.Writer, rate, channels int) (*mp3Encoder, error) {
	l := C.lame_init()
	if l == nil {
		return nil, fmt.Errorf("%w: init failed", errLAME)
	}
	e := &mp3Encoder{lame: l, w: w, channels: channels}
	var mode C.MPEG_mode = C.MONO
	if channels == 2 {
		mode = C.STEREO
	}
	if C.lame_set_num_channels(l, C.int(channels)) < 0 ||
		C.lame_set_in_samplerate(l, C.int(rate)) < 0 ||
		C.lame_set_out_samplerate(l, C.int(rate)) < 0 ||
		C.lame_set_mode(l, mode) < 0 ||
		C.lame_set_VBR(l, C.vbr_off) < 0 ||
		C.lame_set_brate(l, C.int(3*rate*channels/1000)) < 0 ||
		C.lame_set_quality(l, 5) < 0 ||
		C.lame_set_bWriteVbrTag(l, 0) < 0 ||
		C.lame_init_params(l) < 0 {
		e.close()
		return nil, fmt.Errorf("%w: cannot encode %d channels at %d Hz", errLAME, channels, rate)
	}
	return e, nil
}

func (e *mp3Encoder) encode(pcm []int16) error {
	n := len(pcm) / e.channels
	if n == 0 {
		return nil
	}
	// LAME's documented worst case for the output of n samples.
	if need := n*5/4 + 7200; len(e.buf) < need {
		e.buf = make([]byte, need)
	}
	in := (*C.short)(unsafe.Pointer(&pcm[0]))
	out := (*C.uchar)(unsafe.Pointer(&e.buf[0]))
	var got C.int
	if e.channels == 1 {
		got = C.lame_encode_buffer(e.lame, in, in, C.int(n), out, C.int(len(e.buf)))
	} else {
		got = C.lame_encode_buffer_interleaved(e.lame, in, C.int(n), out, C.int(len(e.buf)))
	}
	return e.write(got)
}

func (e *mp3Encoder) flush() error {
	if len(e.buf) < 7200 {
		e.buf = make([]byte, 7200)
	}
	return e.write(C.lame_encode_flush(e.lame, (*C.uchar)(unsafe.Pointer(&e.buf[0])), C.int(len(e.buf))))
}

// write writes the n bytes LAME put in e.buf, or turns its error code into
// an error.
func (e *mp3Encoder) write(n C.int) error {
	if n < 0 {
		return fmt.Errorf("%w: encode error %d", errLAME, int(n))
	}
	_, err := e.w.Write(e.buf[:n])
	return err
}

func (e *mp3Encoder) close() {
	if e.lame != nil {
		C.lame_close(e.lame)
		e.lame = nil
	}
}
