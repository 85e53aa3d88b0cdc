// Package sessiontest helps tests drive and listen to a session: a leg
// that says a tone, and the audio a subscription receives from one side.
package sessiontest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/voxgate/voxgate/media"
	"github.com/voxgate/voxgate/media/mediatest"
	"github.com/voxgate/voxgate/session"
)

// Hear collects at least n samples (at session.Rate) that sub receives from
// speaker ("" for any side), failing t after 10 s without them.
func Hear(t testing.TB, sub *session.Subscription, speaker session.Speaker, n int) []int16 {
	t.Helper()
	var (
		heard []int16
		fr    session.AudioFrame
	)
	deadline := time.After(10 * time.Second)
	for {
		for sub.NextAudio(&fr) {
			if speaker == "" || fr.Speaker == speaker {
				heard = append(heard, fr.Samples...)
			}
		}
		if len(heard) >= n {
			return heard
		}
		select {
		case <-sub.AudioReady():
		case <-deadline:
			t.Fatalf("heard %d of %d samples from %q", len(heard), n, speaker)
		}
	}
}

// ToneLeg is a call leg that says a tone at the session's rate (or its
// narrow band's, NewNarrowToneLeg), paced like RTP (a frame every 20 ms),
// for a number of frames and is silent after, until it is closed. What it
// hears is discarded.
type ToneLeg struct {
	id      string
	speaker session.Speaker
	rate    int
	sine    *mediatest.Sine
	frames  int
	tick    *time.Ticker
	done    chan struct{}
	once    sync.Once
}

// NewToneLeg returns a leg of the speaker saying freq Hz at level dBFS for frames frames.
func NewToneLeg(callID string, speaker session.Speaker, freq, level float64, frames int) *ToneLeg {
	return newToneLeg(callID, speaker, session.Rate, freq, level, frames)
}

// NewNarrowToneLeg is NewToneLeg for a leg at session.NarrowRate (a
// telephone leg).
func NewNarrowToneLeg(callID string, speaker session.Speaker, freq, level float64, frames int) *ToneLeg {
	return newToneLeg(callID, speaker, session.NarrowRate, freq, level, frames)
}

func newToneLeg(callID string, speaker session.Speaker, rate int, freq, level float64, frames int) *ToneLeg {
	return &ToneLeg{id: callID, speaker: speaker, rate: rate, sine: mediatest.NewSine(rate, freq, level), frames: frames,
		tick: time.NewTicker(20 * time.Millisecond), done: make(chan struct{})}
}

// CallID names the leg.
func (l *ToneLeg) CallID() string { return l.id }

// Speaker is the leg's side.
func (l *ToneLeg) Speaker() session.Speaker { return l.speaker }

// Format is 16-bit PCM at the leg's rate.
func (l *ToneLeg) Format() media.Format { return media.PCM16(l.rate) }

// Close ends the leg.
func (l *ToneLeg) Close(error) error {
	l.once.Do(func() { l.tick.Stop(); close(l.done) })
	return nil
}

// ReadFrame returns the next frame of the tone on the next tick; after the
// tone it blocks until the leg is closed.
func (l *ToneLeg) ReadFrame(f *media.Frame) error {
	if l.frames == 0 {
		<-l.done
		return errors.New("sessiontest: leg closed")
	}
	select {
	case <-l.tick.C:
	case <-l.done:
		return errors.New("sessiontest: leg closed")
	}
	l.frames--
	f.Samples = l.sine.Samples(l.rate / 50)
	return nil
}

// WriteFrame discards what the leg hears.
func (l *ToneLeg) WriteFrame(media.Frame) error { return nil }

// Next returns the next event of type typ that sub receives, skipping
// others, and fails t if none comes within 20 s or the subscription ends.
func Next(t testing.TB, sub *session.Subscription, typ string) session.Event {
	t.Helper()
	deadline := time.After(20 * time.Second)
	find := func() (session.Event, bool) {
		for ev, ok := sub.NextEvent(); ok; ev, ok = sub.NextEvent() {
			if ev.Type == typ {
				return ev, true
			}
		}
		return session.Event{}, false
	}
	for {
		if ev, ok := find(); ok {
			return ev
		}
		select {
		case <-sub.EventReady():
		case <-sub.Done():
			if ev, ok := find(); ok { // queued before it ended
				return ev
			}
			t.Fatalf("subscription ended waiting for %s (%v)", typ, sub.Err())
		case <-deadline:
			t.Fatalf("no %s event", typ)
		}
	}
}

// Events moves sub's events to a channel, for a test's select. The channel
// closes once the subscription has ended and its last event was taken (or
// when the test ends).
func Events(t testing.TB, sub *session.Subscription) <-chan session.Event {
	out := make(chan session.Event)
	stop, stopped := make(chan struct{}), make(chan struct{})
	t.Cleanup(func() { close(stop); <-stopped })
	go func() {
		defer close(stopped)
		defer close(out)
		for ended := false; ; {
			for ev, ok := sub.NextEvent(); ok; ev, ok = sub.NextEvent() {
				select {
				case out <- ev:
				case <-stop:
					return
				}
			}
			if ended {
				return
			}
			select {
			case <-sub.EventReady():
			case <-sub.Done():
				ended = true // take what was queued before it ended
			case <-stop:
				return
			}
		}
	}()
	return out
}
