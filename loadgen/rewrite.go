package loadgen

import (
	"fmt"
	"time"

	"github.com/pion/rtp"

	"github.com/voxgate/voxgate/media"
	"github.com/voxgate/voxgate/transcode"
)

// Rewriter replays a fixture as one call's stream: its own SSRC, sequence
// numbers and timestamps from random bases, looping the recording with both
// running on across each loop, and the original spacing in time.
type Rewriter struct {
	fx      *Fixture
	ssrc    uint32
	seqBase uint16
	tsBase  uint32
	i, loop int
	marker  []byte // see WithMarkers
	pkt     rtp.Packet
	buf     []byte
}

// NewRewriter starts a replay of fx with the given SSRC and bases.
func NewRewriter(fx *Fixture, ssrc uint32, seqBase uint16, tsBase uint32) *Rewriter {
	n := 0
	for _, p := range fx.Packets {
		n = max(n, len(p.Payload))
	}
	return &Rewriter{fx: fx, ssrc: ssrc, seqBase: seqBase, tsBase: tsBase, buf: make([]byte, 12+n)}
}

// WithMarkers has the replay carry markers: payload (one marker frame in
// the fixture's codec, see markerPayload) in place of the recording's
// audio in every frame whose index IsMarker.
func (w *Rewriter) WithMarkers(payload []byte) *Rewriter {
	w.marker = payload
	if need := 12 + len(payload); need > len(w.buf) {
		w.buf = make([]byte, need)
	}
	return w
}

// markerPayload is one marker frame (markerTone) encoded in format.
func markerPayload(format media.Format) ([]byte, error) {
	var payload []byte
	enc, err := transcode.Chain(media.PCM16(format.SampleRate), format, media.WriterFunc(func(f media.Frame) error {
		payload = append([]byte(nil), f.Payload...)
		return nil
	}))
	if err != nil {
		return nil, err
	}
	if err := enc.WriteFrame(media.Frame{Samples: markerTone(format.SampleRate)}); err != nil {
		return nil, err
	}
	if payload == nil {
		return nil, fmt.Errorf("%s: no marker frame encoded", format)
	}
	return payload, nil
}

// Sent is what Next produced: when to send the packet (from the start of the
// replay), the packet, and for audio the frame's index in the stream (the
// sequence number's distance from the first; -1 for an RFC 4733 event).
type Sent struct {
	At     time.Duration
	Packet []byte
	Index  int64
	DTMF   bool
	Marker bool // the frame is a marker (WithMarkers)
}

// Next returns the next packet; its bytes are valid until the next call.
func (w *Rewriter) Next() Sent {
	fx := w.fx
	p := &fx.Packets[w.i]
	loop := w.loop
	w.i++
	if w.i == len(fx.Packets) {
		w.i, w.loop = 0, w.loop+1
	}
	idx := int64(loop)*int64(fx.SeqSpan) + int64(p.Seq)
	pt := fx.PayloadType
	if p.DTMF {
		pt = fx.DTMFPayloadType
	}
	w.pkt.Header = rtp.Header{Version: 2, Marker: p.Marker, PayloadType: pt, SSRC: w.ssrc,
		SequenceNumber: w.seqBase + uint16(idx),
		Timestamp:      w.tsBase + uint32(loop)*fx.TSSpan + p.TS}
	w.pkt.Payload = p.Payload
	s := Sent{At: time.Duration(loop)*fx.Duration + p.At, Index: idx, DTMF: p.DTMF}
	switch {
	case p.DTMF:
		s.Index = -1
	case w.marker != nil && IsMarker(idx):
		w.pkt.Payload, s.Marker = w.marker, true
	}
	n, _ := w.pkt.MarshalTo(w.buf) // buf holds the largest packet
	s.Packet = w.buf[:n]
	return s
}
