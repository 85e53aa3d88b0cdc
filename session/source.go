package session

import (
	"sync"
	"time"

	"github.com/voxgate/voxgate/transcode"
)

// frame is one 20 ms buffer of session audio in one or both of the
// session's bands: wide (Rate: what mixing, recording and transcription
// use) and narrow (NarrowRate: what telephone legs and 8 kHz clients
// take). A frame comes in one band and gets the other only when a listener
// needs it (see source.ready), so audio between narrowband parties is never
// resampled.
type frame struct {
	wide   [FrameSamples]int16
	narrow [NarrowSamples]int16
	// hasWide and hasNarrow say which bands the frame holds; narrowIn that
	// it came in the narrow band, so that its wide copy holds nothing above
	// 4 kHz.
	hasWide, hasNarrow, narrowIn bool
	// cut: a leg's frame the other side's legs heard as it arrived (see
	// live.cutThrough), so no tick plays it to them again.
	cut bool
}

// samples returns the frame in one band, nil when it does not have it.
func (f *frame) samples(narrow bool) []int16 {
	switch {
	case narrow && f.hasNarrow:
		return f.narrow[:]
	case !narrow && f.hasWide:
		return f.wide[:]
	}
	return nil
}

// louder says whether the frame's RMS level is above rms.
func (f *frame) louder(rms int64) bool {
	pcm := f.narrow[:]
	if f.hasWide {
		pcm = f.wide[:]
	}
	var sum int64
	for _, v := range pcm {
		sum += int64(v) * int64(v)
	}
	return sum > rms*rms*int64(len(pcm))
}

var framePool = sync.Pool{New: func() any { return new(frame) }}

// silence is a frame of nothing, in either band.
var silence [FrameSamples]int16

// source is one stream of audio in a session: a leg's, a client's, or
// synthesized speech, tagged with its speaker and track. Frames wait in its
// queue until the session's clock plays them, one per tick. Guarded by the
// live session's mutex.
type source struct {
	speaker Speaker
	track   Track
	owner   *Subscription // the client that sends it; nil for legs
	leg     *legRunner    // the leg that sends it; nil for clients
	max     int           // frames the queue may hold

	queue   queue[*frame]
	partial []int16 // samples short of a whole frame, kept for the next Input
	// partialNarrow: the partial samples are in the narrow band.
	partialNarrow bool
	enqueued      uint64 // frames ever queued
	played        uint64 // frames ever played or cleared
	marks         []pendingMark
	seq           uint64 // next sequence number for subscribers
	cur           *frame // the frame played this tick, for mixing; nil when silent
	behind        int    // ticks in a row that left a small backlog (see pop)
	silentTicks   int    // ticks in a row that played nothing of it (see quiet)
	// For the clock's phase (pacing client only): when the frame at the
	// queue's head arrived into an empty queue (zero otherwise), and whether
	// the tick before the last played a frame of this source.
	arrived   time.Time
	hadBefore bool

	// up and down convert the source's frames between the bands (made
	// when first needed); narrowIn is the band of the last frame readied.
	up, down *transcode.Resampler
	narrowIn bool
}

// A real-time stream whose frame once arrived after its tick keeps one
// frame more in its queue from then on: 20 ms more latency for the rest of
// the call, and more with each late frame. When a source has played with a
// backlog of 1 to catchUpBacklog frames for catchUpTicks ticks in a row, one
// frame is dropped to catch up: the next quiet one (below quietRMS), so
// that no speech is cut. Bursts sent faster than real time (speech from a
// bot) queue deeper and are never cut.
const catchUpBacklog, catchUpTicks = 4, 10

// quietRMS is the level (about -40 dBFS) below which a frame carries no
// speech: the catch-up drops only such frames.
const quietRMS = 330

type pendingMark struct {
	name  string
	after uint64 // echo once played ≥ after
}

func (s *source) queued() int { return s.queue.count() }

// quiet says whether the source has had nothing to play for quietTicks
// ticks and has nothing queued: a client between utterances, speech whose
// playback ended, not a real-time stream with a late frame.
func (s *source) quiet() bool { return s.silentTicks >= quietTicks && s.queue.count() == 0 }

// quietTicks is how long (200 ms) a source plays nothing before it is quiet.
const quietTicks = 10

// push queues a whole frame in the narrow or the wide band and returns it,
// dropping the oldest when the queue is full (for legs) or returning nil
// when it is full (for clients).
func (s *source) push(pcm []int16, narrow, dropOldest bool) *frame {
	if s.queue.count() >= s.max {
		if !dropOldest {
			return nil
		}
		framePool.Put(s.take())
		s.played++
	}
	f := framePool.Get().(*frame)
	f.hasWide, f.hasNarrow, f.narrowIn, f.cut = !narrow, narrow, narrow, false
	dst := f.wide[:]
	if narrow {
		dst = f.narrow[:]
	}
	n := copy(dst, pcm)
	clear(dst[n:])
	*s.queue.tail() = f
	s.enqueued++
	return f
}

// ready gives a frame the bands its listeners need now, converting it from
// the band it came in. It is called once per frame, in order, when the
// frame is first heard (live.fanOut: a leg's as it arrives, others' at
// their tick). Once a source has converted a frame, its resampler sees
// every frame after, converting it or only taking it into its history
// (Skip), so a band taken up again goes on smoothly; until then nothing is
// kept.
func (s *source) ready(f *frame, wide, narrow bool) {
	if f.hasWide == f.hasNarrow {
		return
	}
	want := (f.hasNarrow && wide) || (f.hasWide && narrow)
	r := s.converter(f.hasNarrow, want)
	if r == nil {
		return
	}
	from, to := f.wide[:], f.narrow[:]
	if f.hasNarrow {
		from, to = to, from
	}
	if want {
		r.Resample(to[:0], from)
		f.hasWide, f.hasNarrow = true, true
		return
	}
	r.Skip(from)
}

// converter returns the resampler from the band a frame came in (narrow or
// not) to the other: made when create, started afresh when the source
// changed bands, nil when it was never needed.
func (s *source) converter(narrowIn, create bool) *transcode.Resampler {
	rp, from, to := &s.down, Rate, NarrowRate
	if narrowIn {
		rp, from, to = &s.up, NarrowRate, Rate
	}
	changed := narrowIn != s.narrowIn
	s.narrowIn = narrowIn
	switch {
	case *rp == nil && create:
		*rp, _ = transcode.NewResampler(from, to) // both rates are supported
	case *rp != nil && changed:
		(*rp).Reset() // its history is from before the change
	}
	return *rp
}

// take takes the oldest queued frame out (the queue must not be empty).
func (s *source) take() *frame {
	slot := s.queue.front()
	f := *slot
	*slot = nil
	return f
}

// pop takes the next frame to play this tick into cur.
func (s *source) pop() {
	s.hadBefore = s.cur != nil
	if s.cur != nil {
		framePool.Put(s.cur)
		s.cur = nil
	}
	if s.queue.count() == 0 {
		s.behind = 0
		s.silentTicks++
		return
	}
	s.silentTicks = 0
	s.cur = s.take()
	s.played++
	if s.queue.count() == 0 || s.queue.count() > catchUpBacklog {
		s.behind = 0
		return
	}
	if s.behind++; s.behind >= catchUpTicks && !(*s.queue.peek()).louder(quietRMS) {
		framePool.Put(s.take())
		s.played++
		s.behind = 0
	}
}

// clear drops everything queued.
func (s *source) clear() {
	for s.queue.count() > 0 {
		framePool.Put(s.take())
	}
	s.partial = s.partial[:0]
	s.played = s.enqueued
}

// dueMarks removes and returns the marks whose audio has been played.
func (s *source) dueMarks() []string {
	var due []string
	for len(s.marks) > 0 && s.marks[0].after <= s.played {
		due = append(due, s.marks[0].name)
		s.marks = s.marks[1:]
	}
	return due
}

// release returns the source's buffers to the pool.
func (s *source) release() {
	s.clear()
	if s.cur != nil {
		framePool.Put(s.cur)
		s.cur = nil
	}
}
