package session_test

import (
	"slices"
	"testing"
	"time"

	"github.com/voxgate/voxgate/media/mediatest"
	"github.com/voxgate/voxgate/session"
)

// TestNarrowbandPassesThrough: between an 8 kHz leg and an 8 kHz client
// nothing is resampled: each hears the other's samples exactly. A wideband
// client that joins hears the leg at 16 kHz from then on, and the 8 kHz
// client still gets the exact samples.
func TestNarrowbandPassesThrough(t *testing.T) {
	f := newFixture(t, session.Config{})
	id := f.session(session.ModeMediaStream)
	leg := newPipeLeg("call_c", session.SpeakerCustomer)
	leg.rate = session.NarrowRate
	if err := f.m.AddLeg(f.ctx, id, leg); err != nil {
		t.Fatal(err)
	}
	bot := f.subscribe(id, session.SubscribeOptions{Narrowband: true})
	say := func(pcm []int16) {
		for len(pcm) > 0 {
			leg.in <- pcm[:session.NarrowSamples]
			pcm = pcm[session.NarrowSamples:]
			time.Sleep(20 * time.Millisecond)
		}
	}

	// The leg to the client.
	said := mediatest.Tone(session.NarrowRate, 1000, -10, 25*session.NarrowSamples)
	go say(said)
	if got, _ := collect(t, bot, session.SpeakerCustomer, 25); !slices.Equal(got, said) {
		t.Fatalf("the client got the leg's 8 kHz audio changed (first difference at sample %d)", firstDifference(got, said))
	}

	// The client to the leg: after the silence the leg heard before it, the
	// client's samples exactly.
	spoken := mediatest.Tone(session.NarrowRate, 600, -10, 25*session.NarrowSamples)
	if err := bot.InputNarrow(session.SpeakerAgent, spoken); err != nil {
		t.Fatal(err)
	}
	var heard []int16
	waitFor(t, func() bool {
		heard = leg.heardSoFar()
		start := slices.IndexFunc(heard, func(v int16) bool { return v != 0 })
		if start < 0 {
			return false
		}
		heard = heard[start/session.NarrowSamples*session.NarrowSamples:]
		return len(heard) >= len(spoken)
	})
	if heard = heard[:len(spoken)]; !slices.Equal(heard, spoken) {
		t.Fatalf("the leg heard the client's 8 kHz audio changed (first difference at sample %d)", firstDifference(heard, spoken))
	}

	// A wideband client joins: it hears the leg at 16 kHz; the narrowband
	// one still gets the exact samples.
	wide := f.subscribe(id, session.SubscribeOptions{})
	said = mediatest.Tone(session.NarrowRate, 1000, -10, 25*session.NarrowSamples)
	go say(said)
	if got, _ := collect(t, bot, session.SpeakerCustomer, 25); !slices.Equal(got, said) {
		t.Fatalf("with a wideband client too, the 8 kHz client got the leg's audio changed (first difference at sample %d)", firstDifference(got, said))
	}
	got, frames := collect(t, wide, session.SpeakerCustomer, 25)
	if n := len(frames[0].Samples); n != session.FrameSamples {
		t.Fatalf("the wideband client got frames of %d samples", n)
	}
	mediatest.CheckTone(t, got[2*session.FrameSamples:], session.Rate, mediatest.ToneWant{Freq: 1000, Level: -10, MinSNR: 40})
}

// firstDifference is the index of the first sample where a and b differ.
func firstDifference(a, b []int16) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
