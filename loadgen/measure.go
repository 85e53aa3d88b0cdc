package loadgen

import (
	"math"
	"slices"
	"time"
)

// Latencies collects one-way delays.
type Latencies struct{ d []time.Duration }

// Add records one delay.
func (l *Latencies) Add(d time.Duration) { l.d = append(l.d, d) }

// Merge adds all of o's delays.
func (l *Latencies) Merge(o *Latencies) { l.d = append(l.d, o.d...) }

// Len is how many delays were recorded.
func (l *Latencies) Len() int { return len(l.d) }

// Summary is a distribution's percentiles.
type Summary struct {
	Count              int
	P50, P95, P99, Max time.Duration
	Mean               time.Duration
}

// Summarize sorts the delays and returns their percentiles (nearest rank).
func (l *Latencies) Summarize() Summary {
	if len(l.d) == 0 {
		return Summary{}
	}
	slices.Sort(l.d)
	rank := func(p float64) time.Duration {
		i := int(math.Ceil(p*float64(len(l.d)))) - 1
		return l.d[max(0, min(i, len(l.d)-1))]
	}
	var sum time.Duration
	for _, d := range l.d {
		sum += d
	}
	return Summary{Count: len(l.d), P50: rank(0.50), P95: rank(0.95), P99: rank(0.99), Max: l.d[len(l.d)-1],
		Mean: sum / time.Duration(len(l.d))}
}

// forwardWindow is how many frames back a received frame may be matched to
// its send time (20 s of 20 ms frames).
const forwardWindow = 1024

// Forward measures the phone → subscriber path: each audio frame's RTP send
// time against the arrival of the audio.output with the same sequence
// (the gateway numbers a leg's frames from its first, gaps included).
type Forward struct {
	LateAfter time.Duration
	Latency   Latencies
	// Sent, Received and Lost count audio frames (lost: not received within
	// Expire's horizon); Late those slower than LateAfter; Concealed the
	// frames the gateway filled in for gaps (RFC 4733 events take sequence
	// numbers from the audio).
	Sent, Received, Lost, Late, Concealed, Duplicates int
	sentAt                                            [forwardWindow]time.Time
	sentIdx                                           [forwardWindow]int64
	done                                              [forwardWindow]bool // received or counted lost
}

// NewForward returns a tracker; frames slower than lateAfter count as late.
func NewForward(lateAfter time.Duration) *Forward {
	f := &Forward{LateAfter: lateAfter}
	for i := range f.sentIdx {
		f.sentIdx[i] = -1
		f.done[i] = true
	}
	return f
}

// OnSent records that audio frame idx left at t.
func (f *Forward) OnSent(idx int64, t time.Time) {
	s := idx % forwardWindow
	if !f.done[s] {
		f.Lost++ // 20 s old and never seen
	}
	f.sentAt[s], f.sentIdx[s], f.done[s] = t, idx, false
	f.Sent++
}

// OnReceived records the audio.output numbered seq arriving at t.
func (f *Forward) OnReceived(seq int64, t time.Time) {
	if seq < 0 {
		return
	}
	s := seq % forwardWindow
	switch {
	case f.sentIdx[s] != seq:
		f.Concealed++
		return
	case f.done[s]:
		f.Duplicates++
		return
	}
	f.done[s] = true
	f.Received++
	d := t.Sub(f.sentAt[s])
	f.Latency.Add(d)
	if d > f.LateAfter {
		f.Late++
	}
}

// Expire counts as lost the frames sent before t and not received.
func (f *Forward) Expire(t time.Time) {
	for s := range f.sentIdx {
		if !f.done[s] && f.sentAt[s].Before(t) {
			f.done[s] = true
			f.Lost++
		}
	}
}

// Return measures the subscriber → phone path with markers: every
// MarkerEvery-th audio.input frame is a loud tone burst and the rest
// silence, so the first loud frame the phone receives after quiet ones is
// the oldest marker not yet heard.
type Return struct {
	LateAfter, LostAfter time.Duration
	Latency              Latencies
	// Markers sent, heard and lost (not heard within Expire's horizon);
	// Late those slower than LateAfter.
	Sent, Heard, Lost, Late int
	pending                 []time.Time
	loud                    bool
	last                    time.Duration // the last marker's latency
}

// MarkerEvery is the marker period in 20 ms frames (200 ms).
const MarkerEvery = 10

// markerThreshold is the level (dBFS) above which a frame is a marker; the
// burst is at -6 dBFS and the rest digital silence.
const markerThreshold = -30

// NewReturn returns a tracker; markers slower than lateAfter count as
// late, and those not heard within lostAfter as lost.
func NewReturn(lateAfter, lostAfter time.Duration) *Return {
	return &Return{LateAfter: lateAfter, LostAfter: lostAfter}
}

// IsMarker reports whether audio.input frame n carries a marker.
func IsMarker(n int64) bool { return n%MarkerEvery == 0 }

// OnSent records a marker sent at t.
func (r *Return) OnSent(t time.Time) {
	r.Sent++
	r.pending = append(r.pending, t)
}

// OnFrame takes a frame the phone received at t with its level in dBFS:
// one above markerThreshold is a marker's.
func (r *Return) OnFrame(level float64, t time.Time) { r.OnMarker(level > markerThreshold, t) }

// OnMarker takes a frame received at t that is a marker's or not: the
// first of a run of marker frames is a marker sent and not yet heard, the
// one whose latency is closest to the last marker's (the first marker heard
// is the oldest sent). Markers sent before it were lost: a marker lost on
// the way then counts once, rather than pairing every later marker with
// the one sent a period before it.
func (r *Return) OnMarker(loud bool, t time.Time) {
	if loud && !r.loud {
		r.Expire(t.Add(-r.LostAfter))
		if i := r.match(t); i >= 0 {
			d := t.Sub(r.pending[i])
			r.Lost += i
			r.pending = append(r.pending[:0], r.pending[i+1:]...)
			r.Heard++
			r.Latency.Add(d)
			r.last = d
			if d > r.LateAfter {
				r.Late++
			}
		}
	}
	r.loud = loud
}

// match returns the index in pending of the marker heard at t (see
// OnMarker), -1 when none was sent by then.
func (r *Return) match(t time.Time) int {
	best := -1
	for i, sent := range r.pending {
		if sent.After(t) {
			break
		}
		if r.Heard == 0 {
			return i
		}
		if best < 0 || (t.Sub(sent)-r.last).Abs() < (t.Sub(r.pending[best])-r.last).Abs() {
			best = i
		}
	}
	return best
}

// Expire counts as lost the markers sent before t and not heard.
func (r *Return) Expire(t time.Time) {
	n := 0
	for n < len(r.pending) && r.pending[n].Before(t) {
		n++
	}
	r.Lost += n
	r.pending = append(r.pending[:0], r.pending[n:]...)
}

// Arrivals tracks one RTP stream as a receiver does (RFC 3550 A.3, A.8):
// packets expected and received from the sequence numbers, and the
// interarrival jitter.
type Arrivals struct {
	clock     int
	started   bool
	base, max uint32 // extended sequence numbers
	cycles    uint32
	received  int
	transit   float64
	jitter    float64 // seconds
}

// NewArrivals tracks a stream with an RTP clock of clockRate Hz.
func NewArrivals(clockRate int) *Arrivals { return &Arrivals{clock: clockRate} }

// On records a packet with seq and timestamp arriving at t.
func (a *Arrivals) On(seq uint16, ts uint32, t time.Time) {
	a.received++
	transit := float64(t.UnixNano())/1e9 - float64(ts)/float64(a.clock)
	if !a.started {
		a.started, a.base, a.max, a.transit = true, uint32(seq), uint32(seq), transit
		return
	}
	if d := int16(seq - uint16(a.max)); d > 0 {
		if seq < uint16(a.max) { // wrapped
			a.cycles += 1 << 16
		}
		a.max = a.cycles | uint32(seq)
	}
	d := math.Abs(transit - a.transit)
	a.transit = transit
	a.jitter += (d - a.jitter) / 16
}

// Lost is expected minus received (negative with duplicates).
func (a *Arrivals) Lost() int {
	if !a.started {
		return 0
	}
	return int(a.max-a.base+1) - a.received
}

// Received is how many packets arrived.
func (a *Arrivals) Received() int { return a.received }

// Jitter is the interarrival jitter estimate.
func (a *Arrivals) Jitter() time.Duration { return time.Duration(a.jitter * 1e9) }

// markerHz is the markers' tone.
const markerHz = 1000

// markerTone is one marker frame, 20 ms of the markers' tone at -6 dBFS,
// sampled at rate.
func markerTone(rate int) []int16 {
	pcm := make([]int16, rate/50)
	for i := range pcm {
		pcm[i] = int16(16384 * math.Sin(2*math.Pi*markerHz*float64(i)/float64(rate)))
	}
	return pcm
}

// toneMinShare is how much of a window's energy a marker puts at
// markerHz: speech spreads over the band, the marker's burst sits on one
// frequency.
const toneMinShare = 0.8

// isMarkerTone reports whether a 20 ms frame sampled at rate holds a marker
// among speech: a half of it (10 ms) louder than markerThreshold with at
// least toneMinShare of its energy at markerHz (Goertzel's filter). Codec
// delay lays a burst across two frames, but one of them always holds it
// over a whole half: a frame's halves are the windows, and the burst,
// 20 ms, covers one of them however it falls.
func isMarkerTone(pcm []int16, rate int) bool {
	half := len(pcm) / 2
	return half > 0 && (toneWindow(pcm[:half], rate) || toneWindow(pcm[half:], rate))
}

// toneWindow reports whether pcm is loud and mostly markerHz.
func toneWindow(pcm []int16, rate int) bool {
	if level(pcm) <= markerThreshold {
		return false
	}
	coeff := 2 * math.Cos(2*math.Pi*markerHz/float64(rate))
	var s1, s2, energy float64
	for _, v := range pcm {
		x := float64(v)
		s1, s2 = x+coeff*s1-s2, s1
		energy += x * x
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	return 2*power/(float64(len(pcm))*energy) >= toneMinShare
}

// level is a frame's RMS in dBFS (-120 for silence).
func level(pcm []int16) float64 {
	if len(pcm) == 0 {
		return -120
	}
	var sum float64
	for _, v := range pcm {
		sum += float64(v) * float64(v)
	}
	rms := math.Sqrt(sum / float64(len(pcm)))
	if rms < 1e-6 {
		return -120
	}
	return 20 * math.Log10(rms/32768)
}

// resetCounts starts the received and lost counts afresh (the jitter
// estimate and sequence state carry on).
func (a *Arrivals) resetCounts() {
	if a.started {
		a.base, a.received = a.max+1, 0
	}
}
