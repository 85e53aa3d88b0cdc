package session

import "time"

// cutThrough is the source the call legs of side listener hear when that
// is another call leg alone (a bridged call, nobody else speaking to them):
// its frames then cut through, played to them as they arrive (cutTo) rather
// than mixed at the next tick, which would hold each one up to a period.
// It is nil when the side hears a mix: a client's audio, synthesized or
// translated speech, several legs, or nothing.
func (l *live) cutThrough(listener Speaker) *source {
	var only *source
	for _, src := range l.sources {
		if !l.hears(listener, src) {
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
// when it is all they hear (cutThrough), and marks it heard so that no tick
// mixes it for them again (the side may hear a mix by then). Called with
// the mutex held, after fanOut readied the frame's bands. A frame that
// arrived on a goroutine shared with other calls (a SIP poller) is handed
// to each listening leg's own timer instead (cutQueue): encoding it there
// (libopus for a browser) would hold up every call the poller serves.
func (l *live) cutTo(from *legRunner, f *frame) {
	listener := other(from.leg.Speaker())
	if l.cutThrough(listener) != from.src {
		return
	}
	f.cut = true
	now := time.Now()
	for _, lr := range l.legs {
		if lr.leg.Speaker() != listener {
			continue
		}
		pcm := f.samples(lr.narrow)
		if pcm == nil {
			continue // readied before the leg joined
		}
		lr.cutAt = now
		if from.shared {
			lr.queueCut(pcm, f.narrowIn)
		} else {
			lr.playCut(pcm, f.narrowIn)
		}
	}
}

// cutGap is how long a leg that hears another leg cut through may go
// without a frame before the ticks fill the gap with silence, as they do
// for a leg that hears nothing: longer than the arriving frames' jitter, so
// a late frame is not doubled by a silent one.
const cutGap = 2 * period

// playCut plays a frame cut through to the leg; narrowIn says it came in
// the narrow band (see limitBand).
func (lr *legRunner) playCut(pcm []int16, narrowIn bool) {
	if !lr.narrow {
		lr.limitBand(narrowIn)
	}
	lr.play(pcm)
}

// cutSlots is how many frames a leg's cutQueue holds: its timer runs within
// a frame unless the machine is overloaded, when the oldest give way.
const cutSlots = 4

// cutQueue holds the frames cut through to a leg from a shared goroutine
// until the leg's timer plays them, in order, on a goroutine of its own
// (time.AfterFunc's). A leg has one only once it needs it.
type cutQueue struct {
	timer    *time.Timer
	pcm      [cutSlots][FrameSamples]int16
	size     [cutSlots]int
	narrowIn [cutSlots]bool
	head, n  int
}

// queueCut copies a frame into the leg's cutQueue and wakes its timer.
// Called with the session's mutex held.
func (lr *legRunner) queueCut(pcm []int16, narrowIn bool) {
	q := lr.cuts
	if q == nil {
		q = &cutQueue{}
		q.timer = time.AfterFunc(time.Hour, lr.flushCuts)
		lr.cuts = q
	}
	if q.n == cutSlots {
		q.head = (q.head + 1) % cutSlots
		q.n--
	}
	i := (q.head + q.n) % cutSlots
	q.size[i] = copy(q.pcm[i][:], pcm)
	q.narrowIn[i] = narrowIn
	q.n++
	if q.n == 1 { // a timer that has fired drained the queue under the mutex
		q.timer.Reset(0)
	}
}

// flushCuts is the leg's timer firing: it plays the queued frames.
func (lr *legRunner) flushCuts() {
	l := lr.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped || lr.gone {
		lr.cuts.n = 0
		return
	}
	lr.playQueuedCuts()
}

// playQueuedCuts plays what the leg's cutQueue holds, oldest first; the
// tick calls it too, so that a frame cut through is not heard after the
// tick's. Called with the session's mutex held.
func (lr *legRunner) playQueuedCuts() {
	q := lr.cuts
	if q == nil {
		return
	}
	for ; q.n > 0; q.n-- {
		lr.playCut(q.pcm[q.head][:q.size[q.head]], q.narrowIn[q.head])
		q.head = (q.head + 1) % cutSlots
	}
}
