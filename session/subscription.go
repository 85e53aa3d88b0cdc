package session

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// Errors that end a subscription.
var (
	// ErrSlowConsumer means the subscriber fell behind on events (close 4008).
	ErrSlowConsumer = errors.New("session: subscriber too slow")
	// ErrPlayoutQueueFull means a client queued more than MaxPlayout of audio.
	ErrPlayoutQueueFull = errors.New("session: playout queue full")
	// ErrTooManySubscribers means the session has its maximum of subscribers.
	ErrTooManySubscribers = errors.New("session: too many subscribers")
)

// AudioFrame is one 20 ms frame of one source, as a subscriber receives it.
type AudioFrame struct {
	Speaker Speaker
	Track   Track
	// Sequence counts the source's frames from 0.
	Sequence uint64
	// TimestampMS is the source's media time: 20 × Sequence.
	TimestampMS int64
	// Samples is 16-bit PCM at Rate, or at NarrowRate for a Narrowband
	// subscription; NextAudio fills the caller's slice.
	Samples []int16
}

// SubscribeOptions tune a subscription.
type SubscribeOptions struct {
	// Tracks limits the audio received to these tracks (nil: all).
	Tracks []Track
	// Narrowband asks for audio at NarrowRate instead of Rate: what a
	// client that wants 8 kHz gets without resampling from narrowband legs.
	Narrowband bool
	// NoAudio asks for events only.
	NoAudio bool
	// AudioQueue is how many frames may wait for the client before the
	// oldest are dropped. Default 250 (5 s); the queue grows to it only as
	// the client falls behind.
	AudioQueue int
	// EventQueue is how many events may wait before the client is closed as
	// a slow consumer. Default 256 (5 s of a mark echoed every frame); the
	// queue grows to it only as the client falls behind.
	EventQueue int
}

// SubscriberStats counts what happened to one subscriber's queues.
type SubscriberStats struct {
	AudioQueued, AudioDropped, AudioSent uint64
	EventsQueued                         uint64
	PlayoutQueued                        int // frames waiting to be played from this client
}

// Subscription is one /connect client of a live session: what it receives
// (events in order, audio per source) and what it may do (send audio as a
// speaker, marks, clears, DTMF, end the session). Its queues are bounded: a
// slow client loses its oldest audio and is dropped if it cannot keep up
// with events; it never holds up the session.
type Subscription struct {
	live    *live
	tracks  map[Track]bool
	narrow  bool // audio at NarrowRate
	noAudio bool

	done chan struct{}
	once sync.Once
	err  error // set before done is closed

	mu          sync.Mutex
	events      queue[Event]      // events waiting for the client
	audio       queue[AudioFrame] // audio waiting for the client
	eventSignal chan struct{}
	audioSignal chan struct{}

	// playout: the client's own audio, played in real time, per speaker.
	playout map[Speaker]*source
	lastSpk Speaker

	audioQueued, audioDropped, audioSent, eventsQueued atomic.Uint64
}

func newSubscription(l *live, o SubscribeOptions) *Subscription {
	if o.AudioQueue <= 0 {
		o.AudioQueue = 250
	}
	if o.EventQueue <= 0 {
		o.EventQueue = 256
	}
	s := &Subscription{
		live: l, done: make(chan struct{}),
		events: newQueue[Event](o.EventQueue), audio: newQueue[AudioFrame](o.AudioQueue),
		eventSignal: make(chan struct{}, 1), audioSignal: make(chan struct{}, 1),
		playout: map[Speaker]*source{}, narrow: o.Narrowband, noAudio: o.NoAudio,
	}
	if len(o.Tracks) > 0 {
		s.tracks = map[Track]bool{}
		for _, t := range o.Tracks {
			s.tracks[t] = true
		}
	}
	return s
}

// SessionID is the session subscribed to.
func (s *Subscription) SessionID() string { return s.live.id }

// Mode is the session's mode.
func (s *Subscription) Mode() Mode { return s.live.mode }

// EventReady is signalled when events may be waiting in NextEvent.
func (s *Subscription) EventReady() <-chan struct{} { return s.eventSignal }

// NextEvent takes the oldest waiting event, in the session's order, and
// reports whether there was one. When Done closes, take what is left;
// after a session ends the last event is session.ended.
func (s *Subscription) NextEvent() (Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	slot := s.events.front()
	if slot == nil {
		return Event{}, false
	}
	ev := *slot
	*slot = Event{} // hold no data for a client that has it
	return ev, true
}

// AudioReady is signalled when audio may be waiting in NextAudio.
func (s *Subscription) AudioReady() <-chan struct{} { return s.audioSignal }

// Done is closed when the subscription has ended; Err says why.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Err is nil while the subscription lives, then ErrSlowConsumer, ErrEnded
// (the session ended) or context.Canceled (the client left).
func (s *Subscription) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// NextAudio moves the oldest waiting frame into f (copying into f.Samples,
// which it grows if needed) and reports whether there was one.
func (s *Subscription) NextAudio(f *AudioFrame) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	src := s.audio.front()
	if src == nil {
		return false
	}
	f.Speaker, f.Track, f.Sequence, f.TimestampMS = src.Speaker, src.Track, src.Sequence, src.TimestampMS
	if cap(f.Samples) < len(src.Samples) {
		f.Samples = make([]int16, len(src.Samples))
	}
	f.Samples = f.Samples[:len(src.Samples)]
	copy(f.Samples, src.Samples)
	s.audioSent.Add(1)
	return true
}

// takes says whether the client receives audio of track.
func (s *Subscription) takes(track Track) bool {
	return !s.noAudio && (s.tracks == nil || s.tracks[track])
}

// pushAudio queues a frame for the client, in its band, dropping the oldest
// when full. A frame readied before the client came, without its band, is
// sent as silence.
func (s *Subscription) pushAudio(spk Speaker, track Track, seq uint64, f *frame) {
	if !s.takes(track) {
		return
	}
	pcm := f.samples(s.narrow)
	if pcm == nil {
		pcm = silence[:frameSamples(s.narrow)]
	}
	s.mu.Lock()
	slot := s.audio.tail()
	if slot == nil { // full: drop the oldest
		s.audio.front()
		s.audioDropped.Add(1)
		s.live.m.metrics.audioDropped.Add(1)
		slot = s.audio.tail()
	}
	slot.Speaker, slot.Track, slot.Sequence, slot.TimestampMS = spk, track, seq, int64(seq)*20
	if cap(slot.Samples) < len(pcm) {
		slot.Samples = make([]int16, frameSamples(s.narrow))
	}
	slot.Samples = slot.Samples[:len(pcm)]
	copy(slot.Samples, pcm)
	s.mu.Unlock()
	s.audioQueued.Add(1)
	signal(s.audioSignal)
}

// signal wakes a consumer waiting on c (a channel of one).
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// pushEvent queues an event; a client whose queue is full is dropped.
func (s *Subscription) pushEvent(ev Event) {
	select {
	case <-s.done:
		return
	default:
	}
	if !s.queueEvent(ev) {
		// Callers may hold the live session's lock: end the subscription now
		// and let the session forget it from another goroutine.
		s.once.Do(func() {
			s.err = ErrSlowConsumer
			close(s.done)
			s.live.m.metrics.slowConsumers.Add(1)
			go s.live.unsubscribe(s, ErrSlowConsumer)
		})
	}
}

// queueEvent adds ev to the events waiting, false when EventQueue are.
func (s *Subscription) queueEvent(ev Event) bool {
	s.mu.Lock()
	slot := s.events.tail()
	if slot != nil {
		*slot = ev
	}
	s.mu.Unlock()
	if slot == nil {
		return false
	}
	s.eventsQueued.Add(1)
	signal(s.eventSignal)
	return true
}

// finish ends the subscription with err (once).
func (s *Subscription) finish(err error) {
	s.once.Do(func() {
		s.err = err
		close(s.done)
	})
}

// Input queues audio the client sends as speaker: PCM at Rate, any length.
// It is played out to the other side's legs and to other subscribers in
// real time. More than MaxPlayout waiting gives ErrPlayoutQueueFull and the
// excess is not queued.
func (s *Subscription) Input(speaker Speaker, pcm []int16) error {
	return s.input(speaker, pcm, false)
}

// InputNarrow is Input for PCM at NarrowRate: narrowband legs and clients
// hear it as it is, without resampling.
func (s *Subscription) InputNarrow(speaker Speaker, pcm []int16) error {
	return s.input(speaker, pcm, true)
}

func (s *Subscription) input(speaker Speaker, pcm []int16, narrow bool) error {
	if !speaker.Valid() {
		return errors.New("session: speaker must be customer or agent")
	}
	return s.live.input(s, speaker, pcm, narrow)
}

// Mark asks for an echo (a "mark" event to this client) once the audio it
// queued before the mark has been played, or at once if none is waiting.
func (s *Subscription) Mark(name string) { s.live.mark(s, name) }

// Clear drops the audio this client queued (barge-in); pending marks are
// echoed at once.
func (s *Subscription) Clear() { s.live.clear(s) }

// SendDTMF sends RFC 4733 digits to the call legs of the side the client
// does not speak for (callID picks one leg). With no such leg the client
// gets session.error no_call_leg.
func (s *Subscription) SendDTMF(digits, callID string) error {
	return s.live.sendDTMF(s, digits, callID)
}

// EndSession ends the session (explicit_end).
func (s *Subscription) EndSession(ctx context.Context) error {
	_, err := s.live.m.End(ctx, s.live.scope, s.live.id, EndExplicit)
	return err
}

// Close leaves the session; the subscription's audio stops playing.
func (s *Subscription) Close() { s.live.unsubscribe(s, context.Canceled) }

// Stats returns the subscriber's counters.
func (s *Subscription) Stats() SubscriberStats {
	st := SubscriberStats{
		AudioQueued: s.audioQueued.Load(), AudioDropped: s.audioDropped.Load(),
		AudioSent: s.audioSent.Load(), EventsQueued: s.eventsQueued.Load(),
	}
	s.live.mu.Lock()
	for _, src := range s.playout {
		st.PlayoutQueued += src.queued()
	}
	s.live.mu.Unlock()
	return st
}

// QueuedAudio is how many frames wait for the client now.
func (s *Subscription) QueuedAudio() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.audio.count()
}
