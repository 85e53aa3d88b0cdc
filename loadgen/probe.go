package loadgen

import (
	"math"
	"sync"
	"time"

	"github.com/pion/rtp"

	"github.com/voxgate/voxgate/media"
	"github.com/voxgate/voxgate/media/rtpio"
	"github.com/voxgate/voxgate/transcode"
)

// probe holds one call's measurements: what its phone sent and heard, what
// its subscriber received and sent. Its methods take the time of the event,
// so that tests can drive it on a made-up clock.
type probe struct {
	mu  sync.Mutex
	fx  *Fixture
	ref []float64 // the fixture's frame levels by sequence offset (NaN: no audio)
	fwd *Forward
	ret *Return
	// legMarkers, in bridge runs, times the phone's markers where the
	// WebRTC leg hears them (in place of fwd: there is no subscriber).
	legMarkers *Return
	arr        *Arrivals
	dec        *transcode.Pipeline // what the phone hears → PCM at 8 kHz → onPCM
	now        time.Time           // the arrival being decoded

	heard           chan struct{} // closed when the phone hears the gateway's first packet
	lostAfter       time.Duration // how long a frame or marker may take before it counts as lost
	voiced, matched int           // fixture frames with speech, and those heard at their level
	opusFrames      int           // frames the WebRTC leg heard
	opusSpeech      int           // of which speech
	lastEvent       time.Time     // when the last RFC 4733 packet was sent
	stoppedAt       time.Time     // when the call stopped sending
	hdr             rtp.Header
	pcm             []int16
	scratch         []byte
}

// speechLevel is the level (dBFS) above which a fixture frame holds speech.
const speechLevel = -35

// tailGrace is how long before a hangup a frame may have been sent and
// still not count as lost if it never arrived, when RFC 4733 packets went
// just before it: the gateway may hold it for the gap they left in the
// sequence numbers, which the hangup never filled.
const tailGrace = 200 * time.Millisecond

// tailHorizon is when the frames that must arrive were sent by (p.mu held).
func (p *probe) tailHorizon() time.Time {
	if p.stoppedAt.Sub(p.lastEvent) < tailGrace {
		return p.stoppedAt.Add(-tailGrace)
	}
	return p.stoppedAt
}

// inFlight is how many markers and frames the call still waits for.
func (p *probe) inFlight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.ret.pending)
	if p.legMarkers != nil {
		n += len(p.legMarkers.pending)
	}
	horizon := p.tailHorizon()
	for s := range p.fwd.sentIdx {
		if !p.fwd.done[s] && p.fwd.sentAt[s].Before(horizon) {
			n++
		}
	}
	return n
}

// stop records that the call stopped sending at t.
func (p *probe) stop(t time.Time) {
	p.mu.Lock()
	p.stoppedAt = t
	p.mu.Unlock()
}

// opusHeard takes a frame (8 kHz) the WebRTC leg heard at t.
func (p *probe) opusHeard(pcm []int16, t time.Time) {
	lvl := level(pcm)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.opusFrames++
	if lvl > speechLevel {
		p.opusSpeech++
	}
	if p.legMarkers != nil {
		p.legMarkers.OnMarker(isMarkerTone(pcm, 8000), t)
	}
}

// matchDB is how far a subscriber's frame may be from the fixture's level.
const matchDB = 6

// newProbe measures a call replaying fx (ref: its frames' levels); with
// bridge, one whose phone sends markers to its WebRTC leg.
func newProbe(fx *Fixture, ref []float64, lateAfter, lostAfter time.Duration, bridge bool) (*probe, error) {
	p := &probe{fx: fx, ref: ref, lostAfter: lostAfter, fwd: NewForward(lateAfter), ret: NewReturn(lateAfter, lostAfter),
		arr: NewArrivals(fx.ClockRate), heard: make(chan struct{})}
	if bridge {
		p.legMarkers = NewReturn(lateAfter, lostAfter)
	}
	var err error
	p.dec, err = transcode.Chain(fx.Format, media.PCM16(8000), media.WriterFunc(p.onPCM))
	return p, err
}

// rtpSent records a packet the phone sent at t.
func (p *probe) rtpSent(s Sent, t time.Time) {
	p.mu.Lock()
	switch {
	case s.DTMF:
		p.lastEvent = t
	case p.legMarkers != nil:
		if s.Marker {
			p.legMarkers.OnSent(t)
		}
	default:
		p.fwd.OnSent(s.Index, t)
	}
	p.mu.Unlock()
}

// inputSent records audio.input frame n sent at t.
func (p *probe) inputSent(n int64, t time.Time) {
	if !IsMarker(n) {
		return
	}
	p.mu.Lock()
	p.ret.OnSent(t)
	p.mu.Unlock()
}

// audioOutput takes a message the subscriber received at t.
func (p *probe) audioOutput(raw []byte, t time.Time) {
	m, ok := ParseAudioOutput(raw)
	if !ok || m.Speaker != "customer" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fwd.OnReceived(m.Sequence, t)
	ref := p.ref[m.Sequence%int64(len(p.ref))]
	if math.IsNaN(ref) || ref < speechLevel {
		return
	}
	p.voiced++
	var ok2 bool
	if p.pcm, p.scratch, ok2 = decodeMulaw(m.Payload, p.scratch, p.pcm); ok2 && math.Abs(level(p.pcm)-ref) <= matchDB {
		p.matched++
	}
}

// rtpReceived takes a packet the phone received at t.
func (p *probe) rtpReceived(b []byte, t time.Time) {
	if rtpio.IsRTCP(b) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	n, err := p.hdr.Unmarshal(b)
	if err != nil || p.hdr.PayloadType != p.fx.PayloadType {
		return
	}
	select {
	case <-p.heard:
	default:
		close(p.heard)
	}
	p.arr.On(p.hdr.SequenceNumber, p.hdr.Timestamp, t)
	p.now = t
	_ = p.dec.WriteFrame(media.Frame{Payload: b[n:], Timestamp: p.hdr.Timestamp})
}

// onPCM is a decoded frame the phone heard.
func (p *probe) onPCM(f media.Frame) error {
	p.ret.OnFrame(level(f.Samples), p.now)
	return nil
}

// tally is what a probe measured since the last harvest.
type tally struct {
	fwd, ret                           Latencies
	framesSent, framesLost, framesLate int
	concealed                          int
	markersSent, markersLost           int
	markersLate                        int
	voiced, matched                    int
	opusFrames, opusSpeech             int
	rtpReceived, rtpLost               int
	jitter                             time.Duration
}

// harvest moves out what was measured so far; frames and markers older
// than lostAfter (all of them when final) that never arrived count as lost.
func (p *probe) harvest(now time.Time, final bool) tally {
	p.mu.Lock()
	defer p.mu.Unlock()
	horizon := now.Add(-p.lostAfter)
	if final {
		horizon = p.tailHorizon()
	}
	p.fwd.Expire(horizon)
	p.ret.Expire(horizon)
	t := tally{fwd: p.fwd.Latency, ret: p.ret.Latency,
		framesSent: p.fwd.Sent, framesLost: p.fwd.Lost, framesLate: p.fwd.Late, concealed: p.fwd.Concealed,
		markersSent: p.ret.Sent, markersLost: p.ret.Lost, markersLate: p.ret.Late,
		voiced: p.voiced, matched: p.matched, opusFrames: p.opusFrames, opusSpeech: p.opusSpeech, rtpReceived: p.arr.Received(), rtpLost: p.arr.Lost(), jitter: p.arr.Jitter()}
	p.fwd.Latency, p.ret.Latency = Latencies{}, Latencies{}
	p.fwd.Sent, p.fwd.Lost, p.fwd.Late, p.fwd.Concealed, p.fwd.Received = 0, 0, 0, 0, 0
	p.ret.Sent, p.ret.Lost, p.ret.Late, p.ret.Heard = 0, 0, 0, 0
	p.voiced, p.matched, p.opusFrames, p.opusSpeech = 0, 0, 0, 0
	p.arr.resetCounts()
	if m := p.legMarkers; m != nil { // forward is the phone's markers
		m.Expire(horizon)
		t.fwd, t.framesSent, t.framesLost, t.framesLate = m.Latency, m.Sent, m.Lost, m.Late
		m.Latency, m.Sent, m.Lost, m.Late, m.Heard = Latencies{}, 0, 0, 0, 0
	}
	return t
}

// referenceLevels decodes a fixture's audio and returns each frame's level
// by sequence offset (NaN where the fixture has no audio frame).
func referenceLevels(fx *Fixture) ([]float64, error) {
	ref := make([]float64, fx.SeqSpan)
	for i := range ref {
		ref[i] = math.NaN()
	}
	var cur float64
	dec, err := transcode.Chain(fx.Format, media.PCM16(8000), media.WriterFunc(func(f media.Frame) error {
		cur = level(f.Samples)
		return nil
	}))
	if err != nil {
		return nil, err
	}
	for _, pk := range fx.Packets {
		if pk.DTMF {
			continue
		}
		cur = math.NaN()
		_ = dec.WriteFrame(media.Frame{Payload: pk.Payload, Timestamp: pk.TS})
		ref[pk.Seq] = cur
	}
	return ref, nil
}
