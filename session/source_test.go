package session

import "testing"

// TestSourceCatchesUp: a real-time stream that fell 1 to catchUpBacklog
// frames behind drops one every catchUpTicks ticks until it is not; a
// burst queued faster than real time is played whole.
func TestSourceCatchesUp(t *testing.T) {
	pcm := make([]int16, FrameSamples)
	for behind := 1; behind <= catchUpBacklog; behind++ {
		s := &source{max: 1000}
		// Frames late once: behind+1 queued at a tick, then one a tick.
		for range behind + 1 {
			s.push(pcm, false)
		}
		for range behind * catchUpTicks {
			s.pop()
			s.push(pcm, false)
		}
		if s.pop(); s.queued() != 0 { // each tick plays the frame that just came
			t.Fatalf("%d behind: still %d frames behind after %d ticks", behind, s.queued(), behind*catchUpTicks+1)
		}
		s.release()
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
	burst.release()
}
