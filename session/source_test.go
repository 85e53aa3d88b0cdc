package session

import "testing"

// TestSourceCatchesUp: a real-time stream that fell one frame behind drops
// one after catchUpTicks ticks; a burst queued faster than real time is
// played whole.
func TestSourceCatchesUp(t *testing.T) {
	pcm := make([]int16, FrameSamples)
	s := &source{max: 1000}
	// One frame late once: two queued at a tick, then one a tick.
	s.push(pcm, false)
	s.push(pcm, false)
	for range catchUpTicks {
		s.pop()
		s.push(pcm, false)
	}
	if s.pop(); s.queued() != 0 { // each tick plays the frame that just came
		t.Fatalf("still %d frames behind after %d ticks", s.queued(), catchUpTicks+1)
	}
	// A 3 s burst: every frame is played.
	burst := &source{max: 1000}
	for range 150 {
		burst.push(pcm, false)
	}
	played := 0
	for burst.queued() > 0 {
		burst.pop()
		played++
	}
	if played != 150 {
		t.Fatalf("played %d of a 150-frame burst", played)
	}
	s.release()
	burst.release()
}
