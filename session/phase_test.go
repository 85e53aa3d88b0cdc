package session

import (
	"testing"
	"time"
)

// simulate runs the phase against a client whose frame k arrives at
// k·20 ms + jitter(k), with ticks starting at offset: it returns the waits
// of the last window and how many frames came late in the last windows.
func simulate(offset time.Duration, jitter func(k int) time.Duration, windows int) (waits []time.Duration, lateAtEnd int) {
	const period = 20 * time.Millisecond
	var p phase
	tick := offset // the tick's time within the frame's period
	for k := range windows * phaseWindow {
		arrival := jitter(k)
		if arrival > tick { // after its tick: that tick played nothing
			p.lateFrame(arrival - tick)
			if k >= (windows-3)*phaseWindow {
				lateAtEnd++
			}
		} else {
			p.waited(tick - arrival)
			if k >= (windows-1)*phaseWindow {
				waits = append(waits, tick-arrival)
			}
		}
		tick += p.tick()
		if tick > period {
			tick -= period
		}
	}
	return waits, lateAtEnd
}

// A client whose frames land just after the ticks waits almost a period
// each time; the ticks move to fall the margin after its frames instead.
func TestPhaseMovesTicksToTheClient(t *testing.T) {
	waits, late := simulate(19*time.Millisecond, func(int) time.Duration { return 0 }, 8)
	if late != 0 {
		t.Fatalf("%d late frames with no jitter", late)
	}
	for _, w := range waits {
		if w < phaseMarginMin || w > phaseMarginMin+time.Millisecond {
			t.Fatalf("frames wait %v after 8 s, want %v", w, phaseMarginMin)
		}
	}
}

// A client with up to 7 ms of jitter makes some frames late at first; the
// margin grows until none are, and the wait stays well under a period.
func TestPhaseWidensTheMarginForJitter(t *testing.T) {
	jitter := func(k int) time.Duration { return time.Duration(k*7919%8) * time.Millisecond } // 0-7 ms
	waits, late := simulate(19*time.Millisecond, jitter, 30)
	if late != 0 {
		t.Fatalf("%d late frames in the last 3 s", late)
	}
	var longest time.Duration
	for _, w := range waits {
		longest = max(longest, w)
	}
	if longest > phaseMarginMax {
		t.Fatalf("frames wait up to %v, more than the widest margin %v", longest, phaseMarginMax)
	}
}

// A client that stops now and then (no frames) does not move the ticks.
func TestPhaseNeedsARealTimeStream(t *testing.T) {
	var p phase
	for range 10 * phaseWindow {
		if s := p.tick(); s != 0 {
			t.Fatalf("moved %v with no frames", s)
		}
	}
}
