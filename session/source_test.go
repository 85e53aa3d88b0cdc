package session

import (
	"testing"

	"github.com/voxgate/voxgate/media/mediatest"
)

// TestSourceCatchesUp: a real-time stream that fell 1 to 4 frames behind
// (docs/decisions.md) drops one every catchUpTicks ticks until it is not;
// one 5 frames behind is a burst and keeps them; a burst queued faster
// than real time is played whole.
func TestSourceCatchesUp(t *testing.T) {
	pcm := make([]int16, FrameSamples)
	// behindAfter plays a stream that queued behind+1 frames at one tick,
	// then one a tick, for ticks ticks: how far behind it is then.
	behindAfter := func(behind, ticks int) int {
		s := &source{max: 1000}
		defer s.release()
		for range behind + 1 {
			s.push(pcm, false, false)
		}
		for range ticks {
			s.pop()
			s.push(pcm, false, false)
		}
		s.pop() // each tick plays the frame that just came
		return s.queued()
	}
	for behind := 1; behind <= 4; behind++ {
		if left := behindAfter(behind, behind*catchUpTicks); left != 0 {
			t.Fatalf("%d behind: still %d frames behind after %d ticks", behind, left, behind*catchUpTicks+1)
		}
	}
	if left := behindAfter(5, 10*catchUpTicks); left != 5 {
		t.Fatalf("5 behind: %d left after %d ticks, want all 5 kept", left, 10*catchUpTicks+1)
	}
	// Loud frames are not cut: the catch-up waits for a quiet one.
	loud := mediatest.Tone(Rate, 440, -20, FrameSamples)
	s := &source{max: 1000}
	defer s.release()
	s.push(loud, false, false)
	s.push(loud, false, false) // one behind
	for i := range 3 * catchUpTicks {
		s.pop()
		if s.queued() != 1 {
			t.Fatalf("tick %d: a loud frame was cut (%d queued)", i, s.queued())
		}
		s.push(loud, false, false)
	}
	s.pop()                   // a loud frame is left
	s.push(pcm, false, false) // and a quiet one after it
	s.pop()                   // plays the loud one; the quiet one is next and goes
	if s.queued() != 0 {
		t.Fatalf("after a quiet frame came, %d frames left, want 0", s.queued())
	}
	// A 3 s burst: every frame is played.
	burst := &source{max: 1000}
	for range 150 {
		burst.push(pcm, false, false)
	}
	played := 0
	for burst.queued() > 0 {
		burst.pop()
		played++
	}
	if played != 150 {
		t.Fatalf("played %d of a 150-frame burst", played)
	}
	burst.release()
}
