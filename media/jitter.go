package media

import "time"

// JitterStats counts what a jitter buffer or reorder window did.
type JitterStats struct {
	Pushed, Late, Duplicates, Overflow, Concealed uint64
	// Depth is the buffer's current target in frames.
	Depth int
	// Jitter is the interarrival jitter estimate (RFC 3550 §6.4.1).
	Jitter time.Duration
}

// jitterSlots bounds what a buffer holds: a power of two beyond the
// largest depth.
const jitterSlots = 64

// maxJitterDepth is the deepest a jitter buffer may get: 200 ms of frames.
const maxJitterDepth = 10

// slot is one packet in a buffer.
type slot struct {
	seq       uint16
	full      bool
	skip      bool // a sequence number without audio (an RFC 4733 event)
	timestamp uint32
	payload   []byte
}

// JitterBuffer smooths a packet stream played out in real time to another
// leg: it reorders, drops duplicates and packets too late to play, and
// holds an adaptive depth between MinDepth and MaxDepth frames that follows
// the measured jitter. It never holds more than MaxDepth frames: when the
// stream bursts, the oldest are dropped. Gaps come out as Missing frames so
// that decoders conceal them. Not safe for concurrent use.
type JitterBuffer struct {
	// MinDepth and MaxDepth bound the target depth in 20 ms frames
	// (defaults 1 and 10: 20-200 ms; values outside 1-10 are clamped).
	MinDepth, MaxDepth int

	clockRate int
	slots     [jitterSlots]slot
	next      uint16 // the next sequence number to play
	started   bool
	playing   bool // the target depth was reached once
	count     int

	lastArrival time.Time
	lastTS      uint32
	jitter      float64 // seconds
	stats       JitterStats
}

// NewJitterBuffer returns a buffer for a stream whose RTP clock is clockRate.
func NewJitterBuffer(clockRate int) *JitterBuffer {
	return &JitterBuffer{MinDepth: 1, MaxDepth: maxJitterDepth, clockRate: clockRate}
}

// bounds returns MinDepth and MaxDepth clamped to 1-10 frames.
func (j *JitterBuffer) bounds() (lo, hi int) {
	hi = max(1, min(j.MaxDepth, maxJitterDepth))
	return max(1, min(j.MinDepth, hi)), hi
}

// Push adds a packet that arrived at the given time. The payload is copied.
func (j *JitterBuffer) Push(seq uint16, timestamp uint32, payload []byte, arrival time.Time) {
	j.stats.Pushed++
	if j.started && !j.lastArrival.IsZero() {
		d := arrival.Sub(j.lastArrival).Seconds() - float64(int32(timestamp-j.lastTS))/float64(j.clockRate)
		if d < 0 {
			d = -d
		}
		if d <= 1 { // more is a timestamp jump (a restarted clock), not jitter
			j.jitter += (d - j.jitter) / 16
		}
	}
	j.lastArrival, j.lastTS = arrival, timestamp
	if !j.started {
		j.started, j.next = true, seq
	}
	_, hi := j.bounds()
	diff := int16(seq - j.next)
	switch {
	case diff < 0:
		j.stats.Late++
		return
	case int(diff) >= hi+jitterSlots/2:
		// Far ahead (a restart of the stream): start over from here.
		j.reset(seq)
	}
	for int(int16(seq-j.next)) >= hi { // beyond the largest depth: drop the oldest
		j.skip()
		j.stats.Overflow++
	}
	s := &j.slots[seq%jitterSlots]
	if s.full && s.seq == seq {
		j.stats.Duplicates++
		return
	}
	s.seq, s.full, s.skip, s.timestamp = seq, true, false, timestamp
	s.payload = append(s.payload[:0], payload...)
	j.count++
}

func (j *JitterBuffer) reset(seq uint16) {
	for i := range j.slots {
		j.slots[i].full = false
	}
	j.next, j.count, j.playing = seq, 0, false
}

// skip drops the next frame, whether it is there or not.
func (j *JitterBuffer) skip() {
	s := &j.slots[j.next%jitterSlots]
	if s.full && s.seq == j.next {
		s.full = false
		j.count--
	}
	j.next++
}

// target is the depth the measured jitter asks for: about three times the
// jitter, within the bounds.
func (j *JitterBuffer) target() int {
	lo, hi := j.bounds()
	frames := int(3*j.jitter/0.020) + 1
	return max(lo, min(hi, frames))
}

// span is how many frames lie between the next one to play and the newest.
func (j *JitterBuffer) span() int {
	newest := -1
	for i := range j.slots {
		if s := &j.slots[i]; s.full {
			newest = max(newest, int(int16(s.seq-j.next)))
		}
	}
	return newest + 1
}

// Pop is called once per 20 ms by the playout clock. It fills f with the
// next frame (Missing, with Timestamp 0, for a gap; else the packet's RTP
// timestamp) and reports whether there was a frame to
// play: false while the buffer fills to its target depth.
func (j *JitterBuffer) Pop(f *Frame) bool {
	if !j.started || j.count == 0 {
		j.playing = false
		return false
	}
	t := j.target()
	j.stats.Depth = t
	span := j.span()
	if !j.playing {
		if span < t {
			return false
		}
		j.playing = true
	}
	if span > t+2 { // more buffered than needed: catch up by one frame
		j.skip()
		j.stats.Overflow++
	}
	s := &j.slots[j.next%jitterSlots]
	f.Samples = nil
	if s.full && s.seq == j.next {
		f.Payload = append(f.Payload[:0], s.payload...)
		f.Timestamp, f.Missing = s.timestamp, false
		s.full = false
		j.count--
	} else {
		f.Payload = f.Payload[:0]
		f.Timestamp, f.Missing = 0, true
		j.stats.Concealed++
	}
	j.next++
	return true
}

// Stats returns the counters.
func (j *JitterBuffer) Stats() JitterStats {
	st := j.stats
	st.Jitter = time.Duration(j.jitter * float64(time.Second))
	st.Depth = j.target()
	return st
}

// ReorderWindow puts a packet stream back in order with no playout delay:
// in-order packets pass at once; a packet after a gap waits until the gap
// fills or Window later packets have arrived, then each lost packet passes
// as a Missing frame. Not safe for concurrent use.
type ReorderWindow struct {
	// Window is how many packets may wait for a missing one. Default 3.
	Window int

	slots   *[jitterSlots]slot // made for the first packet that waits
	next    uint16
	started bool
	waiting int
	stats   JitterStats
}

// Emit receives the frames a ReorderWindow lets out: a packet's payload and
// RTP timestamp, (nil, 0, true) for a gap, or (nil, 0, false) for a
// sequence number that carried no audio (Skip), which keeps the stream's
// cadence without being a loss. The payload is valid only during the call.
type Emit func(payload []byte, timestamp uint32, missing bool)

// Push adds a packet and calls emit for every frame that can now go out, in
// order. It reports false when the packet came too late (its place was
// already played or concealed) or is a duplicate of one still waiting.
func (r *ReorderWindow) Push(seq uint16, timestamp uint32, payload []byte, emit Emit) bool {
	return r.push(seq, timestamp, payload, false, emit)
}

// Skip takes a sequence number that carries no audio (a telephone-event in
// the audio's numbering): it passes in order as (nil, 0, false), not
// waited for as a gap.
func (r *ReorderWindow) Skip(seq uint16, emit Emit) {
	r.push(seq, 0, nil, true, emit)
}

func (r *ReorderWindow) push(seq uint16, timestamp uint32, payload []byte, skip bool, emit Emit) bool {
	if r.Window <= 0 {
		r.Window = 3
	}
	r.stats.Pushed++
	if !r.started {
		r.started, r.next = true, seq
	}
	diff := int16(seq - r.next)
	switch {
	case diff < 0:
		r.stats.Late++
		return false
	case int(diff) >= jitterSlots/2: // a jump: flush and restart there
		r.flush(emit)
		r.next = seq
	case diff == 0 && r.waiting == 0: // in order, as nearly all are: pass it on without a copy
		r.next++
		if skip {
			emit(nil, 0, false)
		} else {
			emit(payload, timestamp, false)
		}
		return true
	}
	if r.slots == nil {
		r.slots = new([jitterSlots]slot)
	}
	s := &r.slots[seq%jitterSlots]
	if s.full && s.seq == seq {
		r.stats.Duplicates++
		return false
	}
	s.seq, s.full, s.skip, s.timestamp = seq, true, skip, timestamp
	s.payload = append(s.payload[:0], payload...)
	r.waiting++
	r.drain(emit)
	for r.waiting > r.Window { // give up on the gap
		r.emitNext(emit)
		r.drain(emit)
	}
	return true
}

// drain emits the packets that follow in order.
func (r *ReorderWindow) drain(emit Emit) {
	for {
		s := &r.slots[r.next%jitterSlots]
		if !s.full || s.seq != r.next {
			return
		}
		r.emitNext(emit)
	}
}

// emitNext emits the next frame: the packet, or a gap.
func (r *ReorderWindow) emitNext(emit Emit) {
	s := &r.slots[r.next%jitterSlots]
	if s.full && s.seq == r.next {
		s.full = false
		r.waiting--
		if s.skip {
			emit(nil, 0, false)
		} else {
			emit(s.payload, s.timestamp, false)
		}
	} else {
		r.stats.Concealed++
		emit(nil, 0, true)
	}
	r.next++
}

// Reset emits whatever waits, in order, and forgets the sequence: the next
// packet starts a new stream (a new SSRC).
func (r *ReorderWindow) Reset(emit Emit) {
	r.flush(emit)
	r.started = false
}

// flush emits whatever waits, in order, with the gaps before it.
func (r *ReorderWindow) flush(emit Emit) {
	for r.waiting > 0 {
		r.emitNext(emit)
	}
}

// Stats returns the counters.
func (r *ReorderWindow) Stats() JitterStats { return r.stats }
