package session

import "time"

// cutThrough is the source the call legs of side listener hear when that
// is another call leg alone (a bridged call, nobody else speaking to them
// now): its frames then cut through, played to them as they arrive (cutTo)
// rather than mixed at the next tick, which would hold each one up to a
// period. It is nil when the side hears a mix: a client's audio,
// synthesized or translated speech that has something to play, several
// legs, or nothing.
func (l *live) cutThrough(listener Speaker) *source {
	var only *source
	for _, src := range l.sources {
		if !l.hears(listener, src) || (src.leg == nil && src.quiet()) {
			continue
		}
		if only != nil || src.leg == nil {
			return nil
		}
		only = src
	}
	return only
}

// cutTo plays a leg's frame, as it arrives, to the legs of the other side
// when it is all they hear (cutThrough; a phone call with no leg on the
// other side has nobody to cut through to), and marks it heard so that no tick
// mixes it for them again. Frames of the leg still queued from when the
// side heard a mix go first, in order. Called with the mutex held, after
// fanOut readied the frame's bands, on the goroutine that received the
// frame (for a SIP call, the RTP poller it shares with other calls: handing
// the frame to a goroutine of the listening leg's measured no better, see
// docs/decisions.md).
func (l *live) cutTo(from *legRunner) {
	listener := other(from.leg.Speaker())
	if !l.legsHearLegs() || l.cutThrough(listener) != from.src {
		return
	}
	now := l.now()
	q := &from.src.queue
	for i := range q.count() {
		if f := *q.at(i); !f.cut {
			f.cut = true
			l.playCut(listener, f, now)
		}
	}
}

// playCut plays a frame cut through to the legs of side listener.
func (l *live) playCut(listener Speaker, f *frame, now time.Time) {
	for _, lr := range l.legs {
		if lr.leg.Speaker() != listener {
			continue
		}
		pcm := f.samples(lr.narrow)
		if pcm == nil {
			continue // readied before the leg joined
		}
		if !lr.narrow {
			lr.limitBand(f.narrowIn)
		}
		lr.cutAt = now
		lr.play(pcm)
	}
}

// cutGap is how long a leg that hears another leg cut through may go
// without a frame before the ticks fill the gap with silence, as they do
// for a leg that hears nothing: longer than the arriving frames' jitter, so
// a late frame is not doubled by a silent one.
const cutGap = 2 * period
