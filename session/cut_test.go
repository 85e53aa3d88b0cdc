package session

import (
	"slices"
	"testing"
	"time"

	"github.com/voxgate/voxgate/media"
	"github.com/voxgate/voxgate/media/mediatest"
)

// bridgedLive is clockedLive with a customer leg as well: the two legs hear
// each other, and the client has not spoken. Its clock stands still (a
// stalled test cannot read as a gap in the frames); a test moves a leg's
// last cut-through back to make one.
func bridgedLive(t *testing.T) (l *live, customer *legRunner, agent *heardLeg, sub *Subscription) {
	l, agent, sub = clockedLive(t)
	now := l.next.Add(-period)
	l.now = func() time.Time { return now }
	leg := &heardLeg{nullLeg: nullLeg{SpeakerCustomer}}
	customer = &legRunner{l: l, leg: leg, encode: passTo(leg)}
	customer.src = &source{speaker: SpeakerCustomer, track: Original, max: legQueue, leg: customer}
	l.legs[leg.CallID()] = customer
	l.sources = append(l.sources, customer.src)
	return l, customer, agent, sub
}

// A leg that hears another leg alone hears each of its frames as it
// arrives, before any tick, and the tick does not play it again; when the
// frames stop, the ticks fill in silence.
func TestBridgedLegFrameCutsThrough(t *testing.T) {
	l, customer, agent, _ := bridgedLive(t)
	said := mediatest.Tone(Rate, 1000, -10, FrameSamples)
	if err := customer.arrive(media.Frame{Samples: said}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(agent.heard, said) {
		t.Fatalf("the agent's leg heard %d samples as the customer's frame arrived, want the frame (%d)", len(agent.heard), FrameSamples)
	}
	tick(l)
	if len(agent.heard) != FrameSamples {
		t.Fatalf("after a tick the agent's leg has heard %d samples, want the one frame (%d)", len(agent.heard), FrameSamples)
	}
	l.mu.Lock()
	l.legs[agent.CallID()].cutAt = l.now().Add(-time.Second) // the customer has gone quiet
	l.mu.Unlock()
	tick(l)
	if len(agent.heard) != 2*FrameSamples || slices.ContainsFunc(agent.heard[FrameSamples:], func(v int16) bool { return v != 0 }) {
		t.Fatalf("a tick in the customer's silence played %d samples to the agent's leg, want one silent frame", len(agent.heard)-FrameSamples)
	}
}

// Once the side hears a mix (here a client speaking for the customer too),
// the leg's frames wait for the tick and are mixed; a frame that cut
// through before is not heard twice.
func TestBridgedLegMixesOnceAClientSpeaks(t *testing.T) {
	l, customer, agent, sub := bridgedLive(t)
	first := mediatest.Tone(Rate, 1000, -10, FrameSamples)
	if err := customer.arrive(media.Frame{Samples: first}); err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	last := l.now().Add(time.Second) // the client's frame waits for a tick the test makes
	l.lastTick, l.next = last, last.Add(period)
	l.mu.Unlock()
	client := mediatest.Tone(Rate, 600, -10, FrameSamples)
	if err := sub.Input(SpeakerCustomer, client); err != nil {
		t.Fatal(err)
	}
	tick(l) // the client's frame; the leg's was heard
	if !slices.Equal(agent.heard, slices.Concat(first, client)) {
		t.Fatalf("the agent's leg heard %d samples, want the leg's frame as it arrived, then the client's at the tick", len(agent.heard))
	}

	second := mediatest.Tone(Rate, 1000, -10, FrameSamples)
	if err := customer.arrive(media.Frame{Samples: second}); err != nil {
		t.Fatal(err)
	}
	if len(agent.heard) != 2*FrameSamples {
		t.Fatal("a leg's frame cut through to a side that hears a client too")
	}
	tick(l) // the leg's frame alone (the client is quiet)
	if !slices.Equal(agent.heard[2*FrameSamples:], second) {
		t.Fatal("the tick did not play the leg's frame to the agent's leg")
	}
}

// When the client who made the side hear a mix has been quiet for
// quietTicks, the leg's frames cut through again: those still queued from
// the mix first, in order, then the one arriving; none is heard twice.
func TestBridgedLegCutsThroughAgainOnceTheClientIsQuiet(t *testing.T) {
	l, customer, agent, sub := bridgedLive(t)
	l.mu.Lock()
	last := l.now().Add(time.Second) // the client's frame waits for a tick the test makes
	l.lastTick, l.next = last, last.Add(period)
	l.mu.Unlock()
	if err := sub.Input(SpeakerCustomer, mediatest.Tone(Rate, 600, -10, FrameSamples)); err != nil {
		t.Fatal(err)
	}
	tick(l) // the client's frame
	arrive := func(f []int16) {
		t.Helper()
		if err := customer.arrive(media.Frame{Samples: f}); err != nil {
			t.Fatal(err)
		}
	}
	var legFrames [][]int16
	for i := range quietTicks + 2 {
		legFrames = append(legFrames, mediatest.Tone(Rate, 700+50*float64(i), -10, FrameSamples))
	}
	for i, f := range legFrames[:quietTicks-1] { // the client not quiet yet: heard at the ticks
		arrive(f)
		if len(agent.heard) != (i+1)*FrameSamples {
			t.Fatal("a leg's frame cut through while the client was speaking for the side")
		}
		tick(l)
	}
	a, b, c := legFrames[quietTicks-1], legFrames[quietTicks], legFrames[quietTicks+1]
	arrive(a) // two at once, queued for the mix
	arrive(b)
	tick(l) // the client is now quiet: a, queued during the mix, plays
	heard := len(agent.heard)
	if heard != (quietTicks+1)*FrameSamples || !slices.Equal(agent.heard[heard-FrameSamples:], a) {
		t.Fatalf("the agent's leg heard %d samples, want %d ticks' frames ending with the leg's frame queued before the client went quiet", heard, quietTicks+1)
	}
	arrive(c)
	if !slices.Equal(agent.heard[heard:], slices.Concat(b, c)) {
		t.Fatalf("as a frame arrived the agent's leg heard %d more samples, want the frame still queued and then it, in order", len(agent.heard)-heard)
	}
	tick(l)
	if len(agent.heard) != heard+2*FrameSamples {
		t.Fatalf("a tick after the frames cut through played %d more samples to the agent's leg, want none", len(agent.heard)-heard-2*FrameSamples)
	}
}
