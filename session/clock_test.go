package session

import (
	"slices"
	"testing"
	"time"

	"github.com/voxgate/voxgate/media/mediatest"
)

// clockedLive is playbackLive with the clock's grid set up but a timer that
// ticks nothing (nobody reads its channel): only a client's frames make ticks.
func clockedLive(t *testing.T) (*live, *heardLeg, *Subscription) {
	l, agent, sub := playbackLive(t)
	l.timer = time.NewTimer(time.Hour)
	t.Cleanup(func() { l.timer.Stop() })
	l.next = time.Now().Add(period)
	return l, agent, sub
}

// The pacing client's frame plays as it arrives, on the grid's tick or
// ahead of it: the leg has it when Input returns.
func TestPacingClientPlaysOnArrival(t *testing.T) {
	l, agent, sub := clockedLive(t)
	tone := mediatest.Tone(Rate, 1000, -10, FrameSamples)
	if err := sub.Input(SpeakerCustomer, tone); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(agent.heard, tone) {
		t.Fatalf("the leg heard %d samples on arrival, want the frame (%d)", len(agent.heard), FrameSamples)
	}
	// Three frames at once (a client catching up), a period later: one
	// plays, two wait.
	burst := mediatest.Tone(Rate, 600, -10, 3*FrameSamples)
	l.mu.Lock()
	l.lastTick, l.next = time.Now().Add(-time.Second), time.Now().Add(period)
	l.mu.Unlock()
	if err := sub.Input(SpeakerCustomer, burst); err != nil {
		t.Fatal(err)
	}
	if len(agent.heard) != 2*FrameSamples {
		t.Fatalf("the leg heard %d samples after a 3-frame burst, want 2 frames", len(agent.heard))
	}
	if q := sub.playout[SpeakerCustomer].queued(); q != 2 {
		t.Fatalf("%d frames queued after a burst, want 2", q)
	}
}

// A frame sooner than minTickGap after the last tick, or more than a period
// ahead of the grid, waits: it is due when it may play.
func TestPacingClientKeepsTheTicksApart(t *testing.T) {
	l, agent, sub := clockedLive(t)
	tone := mediatest.Tone(Rate, 1000, -10, FrameSamples)
	l.mu.Lock()
	last := time.Now().Add(time.Second) // ahead of now, so that the test's own pace cannot matter
	l.lastTick, l.next = last, last.Add(period)
	l.mu.Unlock()
	if err := sub.Input(SpeakerCustomer, tone); err != nil {
		t.Fatal(err)
	}
	if len(agent.heard) != 0 {
		t.Fatal("a frame played sooner than minTickGap after the last tick")
	}
	if due := l.dueAt(); !due.Equal(last.Add(minTickGap)) {
		t.Fatalf("the frame is due %v after the last tick, want %v", due.Sub(last), minTickGap)
	}

	l, agent, sub = clockedLive(t)
	l.mu.Lock()
	l.next = time.Now().Add(time.Hour)
	l.mu.Unlock()
	if err := sub.Input(SpeakerCustomer, tone); err != nil {
		t.Fatal(err)
	}
	if len(agent.heard) != 0 {
		t.Fatal("a frame played more than a period ahead of the grid")
	}
	if due := l.dueAt(); !due.Equal(l.next.Add(-period)) {
		t.Fatalf("the frame is due %v before the grid's tick, want %v", l.next.Sub(due), period)
	}
}

// With call legs on both sides, which hear each other through the ticks,
// the ticks keep to the grid: the pacing client's frame waits for it (no
// tick runs, and it is due at the grid's tick, not a period before).
func TestPacingClientWaitsWhenLegsHearLegs(t *testing.T) {
	l, agent, sub := clockedLive(t)
	customer := &heardLeg{nullLeg: nullLeg{SpeakerCustomer}}
	lr := &legRunner{l: l, leg: customer, encode: passTo(customer)}
	lr.src = &source{speaker: SpeakerCustomer, track: Original, max: legQueue, leg: lr}
	l.mu.Lock()
	l.legs[customer.CallID()] = lr
	l.sources = append(l.sources, lr.src)
	l.next = time.Now().Add(time.Second) // the test's own pace cannot reach it
	l.mu.Unlock()
	if err := sub.Input(SpeakerCustomer, mediatest.Tone(Rate, 1000, -10, FrameSamples)); err != nil {
		t.Fatal(err)
	}
	if len(agent.heard) != 0 {
		t.Fatal("a tick ran ahead of the grid in a session whose legs hear each other")
	}
	if due := l.dueAt(); !due.Equal(l.next) {
		t.Fatalf("the frame is due %v before the grid's tick", l.next.Sub(due))
	}
}
