package loadgen

import (
	"bytes"
	"encoding/base64"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// Two plays of the PCMU fixture through a Rewriter starting near the top of
// the sequence space: one SSRC, sequence numbers and timestamps that run on
// across the loop (wrapping), the recorded spacing, events kept as events.
func TestRewriter(t *testing.T) {
	fx, err := LoadFixture("../testdata/rtp/pcmu.pcap")
	if err != nil {
		t.Fatal(err)
	}
	const ssrc, seq0, ts0 = 0xdeadbeef, 65500, 4294967000
	w := NewRewriter(fx, ssrc, seq0, ts0)
	n := len(fx.Packets)
	var prev rtp.Packet
	var prevAt time.Duration
	var prevAudio uint32
	for i := range 2 * n {
		s := w.Next()
		var p rtp.Packet
		if err := p.Unmarshal(s.Packet); err != nil {
			t.Fatal(err)
		}
		orig := fx.Packets[i%n]
		loop := i / n
		if p.SSRC != ssrc {
			t.Fatalf("packet %d: SSRC %x", i, p.SSRC)
		}
		if want := uint16(seq0 + loop*int(fx.SeqSpan) + int(orig.Seq)); p.SequenceNumber != want {
			t.Fatalf("packet %d: seq %d, want %d", i, p.SequenceNumber, want)
		}
		if want := uint32(ts0) + uint32(loop)*fx.TSSpan + orig.TS; p.Timestamp != want {
			t.Fatalf("packet %d: ts %d, want %d", i, p.Timestamp, want)
		}
		if want := time.Duration(loop)*fx.Duration + orig.At; s.At != want {
			t.Fatalf("packet %d: at %v, want %v", i, s.At, want)
		}
		if s.DTMF != orig.DTMF || (s.DTMF && (s.Index != -1 || p.PayloadType != 101)) ||
			(!s.DTMF && (s.Index != int64(loop)*int64(fx.SeqSpan)+int64(orig.Seq) || p.PayloadType != 0)) {
			t.Fatalf("packet %d: %+v pt %d", i, s, p.PayloadType)
		}
		if string(p.Payload) != string(orig.Payload) {
			t.Fatalf("packet %d: payload changed", i)
		}
		if i > 0 {
			// Across the loop too: the next sequence number, a timestamp a
			// frame on (or the same, for an event's packets), later in time.
			if p.SequenceNumber != prev.SequenceNumber+1 {
				t.Fatalf("packet %d: seq %d after %d", i, p.SequenceNumber, prev.SequenceNumber)
			}
			if d := p.Timestamp - prevAudio; !s.DTMF && (d == 0 || d > 4*fx.FrameStep) {
				t.Fatalf("packet %d: timestamp steps by %d", i, d)
			}
			if s.At < prevAt {
				t.Fatalf("packet %d: at %v before %v", i, s.At, prevAt)
			}
		}
		prev, prevAt = p, s.At
		if !s.DTMF {
			prevAudio = p.Timestamp
		}
	}
}

// Without its digits, a fixture is its audio packets renumbered one after
// another, at their recorded times and timestamps.
func TestWithoutEvents(t *testing.T) {
	fx, err := LoadFixture("../testdata/rtp/pcmu.pcap")
	if err != nil {
		t.Fatal(err)
	}
	sp := fx.WithoutEvents()
	audio := 0
	for _, p := range fx.Packets {
		if !p.DTMF {
			if q := sp.Packets[audio]; q.At != p.At || q.TS != p.TS || q.Seq != uint16(audio) || q.DTMF {
				t.Fatalf("packet %d: %+v from %+v", audio, q, p)
			}
			audio++
		}
	}
	if len(sp.Packets) != audio || int(sp.SeqSpan) != audio || sp.DTMFPayloadType != 0 || fx.DTMFPayloadType != 101 || sp.Duration != fx.Duration {
		t.Fatalf("%d packets, span %d, dtmf %d", len(sp.Packets), sp.SeqSpan, sp.DTMFPayloadType)
	}
}

// With markers, every MarkerEvery-th audio frame carries the marker in
// place of the recording and says so; the other frames and the events are
// the recording's, and the marker frame is the markers' tone in PCMU.
func TestRewriterMarkers(t *testing.T) {
	fx, err := LoadFixture("../testdata/rtp/pcmu.pcap")
	if err != nil {
		t.Fatal(err)
	}
	marker, err := markerPayload(fx.Format)
	if err != nil {
		t.Fatal(err)
	}
	pcm, _, ok := decodeMulaw([]byte(base64.StdEncoding.EncodeToString(marker)), nil, nil)
	if !ok || len(marker) != 160 || !isMarkerTone(pcm, 8000) {
		t.Fatalf("the PCMU marker (%d bytes) is not the markers' tone", len(marker))
	}
	w := NewRewriter(fx, 1, 0, 0).WithMarkers(marker)
	markers := 0
	for i := range 2 * len(fx.Packets) {
		s := w.Next()
		var p rtp.Packet
		if err := p.Unmarshal(s.Packet); err != nil {
			t.Fatal(err)
		}
		orig := fx.Packets[i%len(fx.Packets)]
		isMarker := !orig.DTMF && IsMarker(s.Index)
		want := orig.Payload
		if isMarker {
			want, markers = marker, markers+1
		}
		if s.Marker != isMarker || !bytes.Equal(p.Payload, want) {
			t.Fatalf("packet %d (index %d, event %v): marked %v, payload %d bytes", i, s.Index, orig.DTMF, s.Marker, len(p.Payload))
		}
	}
	if markers < len(fx.Packets)/MarkerEvery {
		t.Fatalf("%d markers in two plays of %d packets", markers, len(fx.Packets))
	}
}
