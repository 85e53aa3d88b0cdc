package session

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/voxgate/voxgate/store"
)

// live is the running part of a session on this node: its subscribers,
// sources and legs, and the clock that plays audio out every 20 ms. It
// exists while anything is connected and goes away when the session ends.
type live struct {
	m     *Manager
	id    string
	scope store.Scope
	mode  Mode
	log   *zap.Logger

	mu      sync.Mutex
	subs    map[*Subscription]struct{}
	sources []*source
	legs    map[string]*legRunner
	mix     [FrameSamples]int32
	out     [FrameSamples]int16
	due     []dueMark // marks echoed at the end of a tick
	stopped bool
	reason  EndReason
	ms      int64     // media time of this tick: 20 ms a tick since the clock started
	rec     *recorder // the session's recordings, when it asked for them
	tr      *transcriber
	xl      *interpreter // translation modes: translates and speaks finals
	// sameLanguage: a translation-mode session whose sides speak one
	// language; its legs hear the original (set before the clock starts).
	sameLanguage bool

	pacer    *source // the client whose real-time frames the ticks follow (see phase)
	phase    phase
	lastTick time.Time
	next     time.Time        // the grid's next tick
	timer    *time.Timer      // wakes the clock when a tick is due (dueAt); nil until it starts
	now      func() time.Time // the clock's time: time.Now, or a test's

	voices  [voiceCount]*source // synthesized speech, by listener and track
	playing []*Playback         // in the order given
	talking [2]int              // ticks each side has been speaking over a playback

	started  atomic.Bool // session.started was requested
	answered atomic.Bool // a call of the session was answered (its leg joined)
	// maxDuration is the agent's max_duration_seconds (0: none); limit ends
	// the session that long after the first answer.
	maxDuration time.Duration
	limit       *time.Timer
	wg          sync.WaitGroup
}

func newLive(m *Manager, id string, sc store.Scope, mode Mode) *live {
	l := &live{
		m: m, id: id, scope: sc, mode: mode, log: m.log.WithLazy(zap.String("session_id", id)),
		subs: map[*Subscription]struct{}{}, legs: map[string]*legRunner{}, now: time.Now,
	}
	if mode.transcribes() {
		l.tr = l.newTranscriber()
	}
	if mode.translates() {
		l.xl = l.newInterpreter()
	}
	return l
}

// start runs the session's clock.
func (l *live) start() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.next = l.now().Add(period)
	l.timer = time.AfterFunc(period, l.onTimer)
}

// period is the session clock's: one frame.
const period = 20 * time.Millisecond

// minTickGap is the shortest time between two ticks: a pacing client's
// frame never plays sooner than this after the tick before.
const minTickGap = period / 2

// The clock plays one frame of every source per tick, every 20 ms on a
// grid that follows the pacing client's frames (see phase). That client's
// frame plays as soon as it arrives, ahead of the grid, when the tick
// before is at least minTickGap past (see input); the grid's ticks come
// from a timer. onTimer is that timer firing, on a goroutine of its own as
// time.AfterFunc runs it: a session whose ticks come from a client's frames
// holds no goroutine for its clock.
func (l *live) onTimer() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.advance(l.now())
}

// advance ticks when a tick is due and sets the timer for the next one.
// A tick that comes more than a period late is not made up for. Called
// with the mutex held.
func (l *live) advance(now time.Time) {
	if l.stopped {
		return
	}
	if due := l.dueAt(); !now.Before(due) {
		l.next = l.next.Add(period + l.tick())
		if now.Sub(l.next) > period {
			l.next = now
		}
	}
	l.timer.Reset(max(l.dueAt().Sub(now), 0))
}

// dueAt is when the next tick is due: the grid's time, or sooner when the
// pacing client's frame is waiting (at least minTickGap after the last
// tick, never more than a period ahead of the grid, and not while legs
// hear legs).
func (l *live) dueAt() time.Time {
	src := l.pacer
	if src == nil || src.arrived.IsZero() || src.queue.count() == 0 || l.legsHearLegs() {
		return l.next
	}
	early := later(l.lastTick.Add(minTickGap), l.next.Add(-period))
	if early.Before(l.next) {
		return early
	}
	return l.next
}

// legsHearLegs says whether the session has call legs on both sides: they
// hear each other through the ticks, and a leg's frames, which come at its
// own pace, would miss ticks that followed a client's jitter, so the ticks
// then keep to the grid.
func (l *live) legsHearLegs() bool {
	customer, agent := false, false
	for _, lr := range l.legs {
		if lr.leg.Speaker() == SpeakerAgent {
			agent = true
		} else {
			customer = true
		}
	}
	return customer && agent
}

// later returns the later of two times.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// tick advances every source by one frame: clients' queued audio goes to the
// other subscribers, and each leg hears the mix of the other side. It
// returns how far to move the next tick. Called with the mutex held.
func (l *live) tick() time.Duration {
	now := l.now()
	l.lastTick = now
	l.feedPlaybacks()
	for _, src := range l.sources {
		src.pop()
		if src == l.pacer && src.cur != nil && !src.arrived.IsZero() {
			l.phase.waited(later(now, l.next).Sub(src.arrived)) // what the grid alone would have had it wait
			src.arrived = time.Time{}
		}
		if src.leg == nil && src.cur != nil { // legs' frames went out as they arrived
			l.fanOut(src, src.cur)
		}
		if src.owner != nil {
			for _, name := range src.dueMarks() {
				l.due = append(l.due, dueMark{src, name})
			}
		}
	}
	l.record()
	l.transcribe()
	var cut [2]bool // whether each side's legs hear a leg cut through
	if l.legsHearLegs() {
		cut = [2]bool{l.cutThrough(SpeakerCustomer) != nil, l.cutThrough(SpeakerAgent) != nil}
	}
	for _, lr := range l.legs {
		l.playTo(lr, cut[sideOf(lr.leg.Speaker())], now)
	}
	for i, d := range l.due { // after the audio they follow
		l.echoMark(d.src, d.name)
		l.due[i] = dueMark{}
	}
	l.due = l.due[:0]
	l.ms += 20
	if l.pacer == nil {
		return 0
	}
	return l.phase.tick()
}

// dueMark is a client's mark whose audio the clock has played.
type dueMark struct {
	src  *source
	name string
}

// echoMark echoes a client's mark once its audio is played: now, or when
// every leg hearing it that buffers playback (a Twilio stream) says so.
func (l *live) echoMark(src *source, name string) {
	owner := src.owner
	var markers []PlaybackMarker
	for _, lr := range l.legs {
		if pm, ok := lr.leg.(PlaybackMarker); ok && lr.leg.Speaker() != src.speaker {
			markers = append(markers, pm)
		}
	}
	if len(markers) == 0 {
		owner.pushEvent(Event{Type: "mark", Name: name})
		return
	}
	var left atomic.Int32
	left.Store(int32(len(markers)))
	for _, pm := range markers {
		pm.MarkPlayback(name, func() {
			if left.Add(-1) == 0 {
				owner.pushEvent(Event{Type: "mark", Name: name})
			}
		})
	}
}

// clearPlayback tells the legs of the other side that buffer playback to
// drop what the client sent them.
func (l *live) clearPlayback(spk Speaker) {
	for _, lr := range l.legs {
		if pm, ok := lr.leg.(PlaybackMarker); ok && lr.leg.Speaker() != spk {
			pm.ClearPlayback()
		}
	}
}

// playTo mixes the sources a leg hears and writes the result to it, in the
// leg's band. A leg hears the other side: its original track, or in
// translation modes the translated track in place of the original. A
// frame that cut through to the leg as it arrived is not heard again; with
// nothing to play, the leg hears silence, unless cut (what it hears cuts
// through, see cutThrough) and a frame did so within cutGap of now.
func (l *live) playTo(lr *legRunner, cut bool, now time.Time) {
	listener := lr.leg.Speaker()
	size := frameSamples(lr.narrow)
	mix, out := l.mix[:size], l.out[:size]
	n, narrowOnly := 0, true
	clear(mix)
	for _, src := range l.sources {
		if src.cur == nil || src.cur.cut || src.leg == lr || !l.hears(listener, src) {
			continue
		}
		pcm := src.cur.samples(lr.narrow)
		if pcm == nil {
			continue // readied before the leg joined
		}
		for i, v := range pcm {
			mix[i] += int32(v)
		}
		n++
		narrowOnly = narrowOnly && src.cur.narrowIn
	}
	switch {
	case n == 0 && cut && now.Sub(lr.cutAt) <= cutGap:
		return
	case n == 0:
		clear(out) // silence keeps the far end's clock and NAT bindings going
	default:
		for i, v := range mix {
			out[i] = clip(v)
		}
		if !lr.narrow {
			lr.limitBand(narrowOnly)
		}
	}
	lr.play(out)
}

// ready gives a source's frame the bands that its listeners take now: the
// wide one for transcription, 16 kHz recordings and wideband legs and
// clients, the narrow one for 8 kHz recordings and narrowband legs and
// clients.
func (l *live) ready(src *source, f *frame) {
	wide := l.tr != nil || (l.rec != nil && !l.rec.narrow)
	narrow := l.rec != nil && l.rec.narrow
	for sub := range l.subs {
		if sub != src.owner && sub.takes(src.track) {
			wide = wide || !sub.narrow
			narrow = narrow || sub.narrow
		}
	}
	for _, lr := range l.legs {
		if lr != src.leg && l.hears(lr.leg.Speaker(), src) {
			wide = wide || !lr.narrow
			narrow = narrow || lr.narrow
		}
	}
	src.ready(f, wide, narrow)
}

// hears says whether the call legs of side listener hear src: the other
// side's original track, or in translation modes the translated track in
// place of the original; synthesized speech always.
func (l *live) hears(listener Speaker, src *source) bool {
	if src.speaker == listener {
		return false
	}
	want := Original
	if !l.sameLanguage && (l.mode == ModeBidirectionalTranslation || (l.mode == ModeAssistiveTranslation && listener == SpeakerCustomer)) {
		want = Translated
	}
	return src.track == want || src.track == Synthesized
}

// fanOut is where a source's frame is first heard, once per frame and in
// order: it gets the bands its listeners take (ready), and every subscriber
// but the source's owner gets it.
func (l *live) fanOut(src *source, f *frame) {
	l.ready(src, f)
	seq := src.seq
	src.seq++
	for sub := range l.subs {
		if sub != src.owner {
			sub.pushAudio(src.speaker, src.track, seq, f)
		}
	}
}

// input queues a client's audio as speaker, a frame at a time, in the
// narrow band or the wide one.
func (l *live) input(sub *Subscription, spk Speaker, pcm []int16, narrow bool) error {
	l.activate()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return ErrEnded
	}
	src := sub.playout[spk]
	if src == nil {
		src = &source{speaker: spk, track: Original, owner: sub, max: l.m.cfg.MaxPlayout}
		sub.playout[spk] = src
		l.sources = append(l.sources, src)
	}
	sub.lastSpk = spk
	if l.pacer == nil {
		l.pacer = src
	}
	if src == l.pacer {
		defer l.paced(src, src.queue.count(), l.now())
	}
	if len(src.partial) > 0 && src.partialNarrow != narrow { // the client changed rates
		full := src.push(src.partial, src.partialNarrow, false) == nil
		src.partial = src.partial[:0]
		if full {
			return ErrPlayoutQueueFull
		}
	}
	src.partialNarrow = narrow
	size := frameSamples(narrow)
	if len(src.partial) > 0 {
		need := size - len(src.partial)
		if len(pcm) < need {
			src.partial = append(src.partial, pcm...)
			return nil
		}
		src.partial = append(src.partial, pcm[:need]...)
		pcm = pcm[need:]
		full := src.push(src.partial, narrow, false) == nil
		src.partial = src.partial[:0]
		if full {
			return ErrPlayoutQueueFull
		}
	}
	for len(pcm) >= size {
		if src.push(pcm[:size], narrow, false) == nil {
			return ErrPlayoutQueueFull
		}
		pcm = pcm[size:]
	}
	src.partial = append(src.partial, pcm...)
	return nil
}

func (l *live) mark(sub *Subscription, name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	src := sub.playout[sub.lastSpk]
	if src == nil {
		sub.pushEvent(Event{Type: "mark", Name: name})
		return
	}
	if src.queue.count() == 0 && len(src.marks) == 0 {
		l.echoMark(src, name) // played here; maybe not yet at the far end
		return
	}
	src.marks = append(src.marks, pendingMark{name: name, after: src.enqueued})
}

func (l *live) clear(sub *Subscription) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopPlaybacks(func(*Playback) bool { return true })
	for spk, src := range sub.playout {
		src.clear()
		l.clearPlayback(spk)
		for _, name := range src.dueMarks() {
			l.echoMark(src, name)
		}
	}
}

// subscribe adds a client.
func (l *live) subscribe(o SubscribeOptions) (*Subscription, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return nil, ErrEnded
	}
	if len(l.subs) >= l.m.cfg.MaxSubscribers {
		return nil, ErrTooManySubscribers
	}
	sub := newSubscription(l, o)
	l.subs[sub] = struct{}{}
	return sub, nil
}

// unsubscribe removes a client and its audio, ending its subscription.
func (l *live) unsubscribe(sub *Subscription, why error) {
	l.mu.Lock()
	if _, ok := l.subs[sub]; ok {
		delete(l.subs, sub)
		l.removeSourcesOf(sub)
	}
	idle := len(l.subs) == 0 && len(l.legs) == 0
	l.mu.Unlock()
	sub.finish(why)
	if idle {
		l.m.release(l)
	}
}

// paced notes, for the clock's phase, when the pacing client's frames
// arrive: queued counts the frames that waited before this input.
func (l *live) paced(src *source, queued int, now time.Time) {
	if queued > 0 || src.queue.count() == 0 {
		return // not in real time, or no whole frame yet
	}
	if src.cur == nil && src.hadBefore { // its tick played nothing: it came late
		l.phase.lateFrame(now.Sub(l.lastTick))
	}
	src.arrived = now
	if l.timer == nil {
		return // no clock running
	}
	if due := l.dueAt(); !now.Before(due) {
		l.advance(now) // play it now, on this goroutine
	} else if due.Before(l.next) { // the timer was set for the grid's tick
		l.timer.Reset(due.Sub(now))
	}
}

func (l *live) removeSourcesOf(sub *Subscription) {
	kept := l.sources[:0]
	for _, src := range l.sources {
		if src.owner == sub {
			if src == l.pacer {
				l.pacer, l.phase = nil, phase{}
			}
			src.release()
			continue
		}
		kept = append(kept, src)
	}
	clear(l.sources[len(kept):])
	l.sources = kept
}

// broadcast sends an event to every subscriber.
func (l *live) broadcast(ev Event) {
	l.mu.Lock()
	subs := make([]*Subscription, 0, len(l.subs))
	for s := range l.subs {
		subs = append(subs, s)
	}
	l.mu.Unlock()
	for _, s := range subs {
		s.pushEvent(ev)
	}
}

// activate marks the session active on its first audio or leg.
func (l *live) activate() {
	if l.started.Swap(true) {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := l.m.Activate(ctx, l.scope, l.id); err != nil && !errors.Is(err, ErrNotFound) {
			l.log.Warn("session not activated", zap.Error(err))
		}
		l.startRecording(ctx)
	}()
}

// markAnswered records that a call of the session was answered. The first
// answer starts the agent's max_duration_seconds.
func (l *live) markAnswered() {
	if l.answered.Swap(true) || l.maxDuration <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return
	}
	l.limit = time.AfterFunc(l.maxDuration, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := l.m.End(ctx, l.scope, l.id, EndMaxDuration); err != nil && !errors.Is(err, ErrNotFound) {
			l.log.Warn("session not ended at its max duration", zap.Error(err))
		}
	})
}

// stop ends the live session: legs are closed, and every subscriber gets
// the final session.ended message and is closed.
func (l *live) stop(reason EndReason, data json.RawMessage) {
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		return
	}
	l.stopped, l.reason = true, reason
	if l.timer != nil {
		l.timer.Stop()
	}
	if l.limit != nil {
		l.limit.Stop()
	}
	legs := make([]*legRunner, 0, len(l.legs))
	for _, lr := range l.legs {
		legs = append(legs, lr)
	}
	subs := make([]*Subscription, 0, len(l.subs))
	for s := range l.subs {
		subs = append(subs, s)
	}
	l.subs = map[*Subscription]struct{}{}
	for _, src := range l.sources {
		src.release()
	}
	l.sources = nil
	l.stopPlaybacks(func(*Playback) bool { return true })
	rec, tr := l.rec, l.tr
	l.rec, l.tr = nil, nil
	l.mu.Unlock()
	for _, lr := range legs {
		_ = lr.leg.Close(&EndedError{Reason: reason})
	}
	final := Event{Type: EventSessionEnded, Reason: reason, Data: data}
	for _, s := range subs {
		s.queueEvent(final) // with a full queue the client is closed without its last word
		s.finish(ErrEnded)
	}
	l.wg.Wait()
	if rec != nil {
		l.m.finishRecordings(rec)
	}
	if tr != nil {
		tr.close(l.log)
	}
	if l.xl != nil {
		l.xl.close() // after the last finals
	}
}

// EndedError is the cause given to legs when their session ends.
type EndedError struct{ Reason EndReason }

func (e *EndedError) Error() string { return "session ended: " + string(e.Reason) }

// Unwrap makes errors.Is(err, ErrEnded) true.
func (e *EndedError) Unwrap() error { return ErrEnded }
