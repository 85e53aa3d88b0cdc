package session

import (
	"sync"
	"time"
)

// frame is one 20 ms buffer of session audio.
type frame = [FrameSamples]int16

var framePool = sync.Pool{New: func() any { return new(frame) }}

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

	queue    queue[*frame]
	partial  []int16 // samples short of a whole frame, kept for the next Input
	enqueued uint64  // frames ever queued
	played   uint64  // frames ever played or cleared
	marks    []pendingMark
	seq      uint64 // next sequence number for subscribers
	cur      *frame // the frame played this tick, for mixing; nil when silent
	behind   int    // ticks in a row that left a small backlog (see pop)
	// For the clock's phase (pacing client only): when the frame at the
	// queue's head arrived into an empty queue (zero otherwise), and whether
	// the tick before the last played a frame of this source.
	arrived   time.Time
	hadBefore bool
}

// A real-time stream whose frame once arrived after its tick keeps one
// frame more in its queue from then on: 20 ms more latency for the rest of
// the call, and more with each late frame. When a source has played with a
// backlog of 1 to catchUpBacklog frames for catchUpTicks ticks in a row, one
// frame is dropped to catch up. Bursts sent faster than real time (speech
// from a bot) queue deeper and are never cut.
const catchUpBacklog, catchUpTicks = 4, 50

type pendingMark struct {
	name  string
	after uint64 // echo once played ≥ after
}

func (s *source) queued() int { return s.queue.count() }

// push queues a whole frame, dropping the oldest when the queue is full
// (for legs) and reporting false when it is full (for clients).
func (s *source) push(pcm []int16, dropOldest bool) bool {
	if s.queue.count() >= s.max {
		if !dropOldest {
			return false
		}
		framePool.Put(s.take())
		s.played++
	}
	f := framePool.Get().(*frame)
	n := copy(f[:], pcm)
	clear(f[n:])
	*s.queue.tail() = f
	s.enqueued++
	return true
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
		return
	}
	s.cur = s.take()
	s.played++
	if s.queue.count() == 0 || s.queue.count() > catchUpBacklog {
		s.behind = 0
		return
	}
	if s.behind++; s.behind >= catchUpTicks {
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
