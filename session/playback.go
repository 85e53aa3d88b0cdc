package session

import "sync/atomic"

// Playback is speech the session plays in real time to the call legs of one
// side, as a source of the other side: a translation (track Translated) or
// a synthesized voice (track Synthesized). Subscribers get its frames as
// audio.output with that speaker and track.
//
// A Playback ends when its last frame has been played, or earlier when it
// is stopped: by Stop, by any client's audio.clear, by the listening side
// starting to speak (barge-in: its original audio above about -40 dBFS for
// 100 ms), or by the session ending. Done is closed then in every case.
type Playback struct {
	l     *live
	src   *source // the session's source for this speaker and track
	pcm   []int16
	pos   int         // samples handed to the source (guarded by l.mu)
	cut   atomic.Bool // stopped before its end
	done  chan struct{}
	voice int // index of src in l.voices
	// start and end are the media times it started and ended playing
	// (guarded by l.mu; read once done is closed).
	start, end int64
}

// Done is closed when the playback has ended: played out or stopped.
func (p *Playback) Done() <-chan struct{} { return p.done }

// Interrupted says whether the playback was stopped before its end (valid
// once Done is closed).
func (p *Playback) Interrupted() bool { return p.cut.Load() }

// Span is the media time, in ms from the start of the session's clock (the
// time of its transcript turns), at which the playback started and ended
// playing (valid once Done is closed; equal when it never played).
func (p *Playback) Span() (startMS, endMS int64) { return p.start, p.end }

// Stop ends the playback where it is; a queued one never starts. Stopping
// an ended playback does nothing.
func (p *Playback) Stop() {
	p.l.mu.Lock()
	defer p.l.mu.Unlock()
	p.l.stopPlaybacks(func(q *Playback) bool { return q == p })
}

// Barge-in: the side a playback is heard by speaking (its original audio
// louder than bargeInRMS, about -40 dBFS) for bargeInFrames ticks (a tick
// without its frame counts one down) stops what plays to it.
const (
	bargeInRMS    = 330
	bargeInFrames = 5 // 100 ms
)

// speak plays pcm (mono, Rate) in real time to the call legs of side to, as
// a source of the other side on track (Translated or Synthesized; a leg
// hears Translated only in translation modes, Synthesized always). Speech
// given to the same side on the same track plays in the order given, one
// after the other. The returned Playback reports its end and can stop it.
// pcm must not be changed afterwards.
func (l *live) speak(to Speaker, track Track, pcm []int16) *Playback {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := &Playback{l: l, pcm: pcm, done: make(chan struct{}), voice: voiceIndex(to, track)}
	if l.stopped {
		p.start, p.end = l.ms, l.ms
		p.cut.Store(true)
		close(p.done)
		return p
	}
	if l.voices[p.voice] == nil {
		src := &source{speaker: other(to), track: track, max: 2}
		l.voices[p.voice] = src
		l.sources = append(l.sources, src)
	}
	p.src = l.voices[p.voice]
	l.playing = append(l.playing, p)
	return p
}

// voiceCount is the number of synthesized sources a session can have.
const voiceCount = 4

// voiceIndex numbers the session's synthesized sources: listener × track.
func voiceIndex(to Speaker, track Track) int {
	i := sideOf(to) * 2
	if track == Synthesized {
		i++
	}
	return i
}

// other is the opposite side.
func other(s Speaker) Speaker {
	if s == SpeakerCustomer {
		return SpeakerAgent
	}
	return SpeakerCustomer
}

// feedPlaybacks hands each voice's current playback's next frame to its
// source, to be played this tick, and ends the playbacks that have played
// out (called by the clock with the lock held, before sources are popped).
func (l *live) feedPlaybacks() {
	if l.xl != nil || len(l.playing) > 0 {
		l.bargeIn()
	}
	if len(l.playing) == 0 {
		return
	}
	var fed [voiceCount]bool
	kept := l.playing[:0]
	for _, p := range l.playing {
		if fed[p.voice] {
			kept = append(kept, p) // waits for the one before it
			continue
		}
		if p.pos == 0 {
			p.start = l.ms
		}
		if p.pos >= len(p.pcm) {
			p.end = l.ms
			close(p.done) // its last frame played in the previous tick
			continue
		}
		fed[p.voice] = true
		n := min(FrameSamples, len(p.pcm)-p.pos)
		p.src.push(p.pcm[p.pos:p.pos+n], false, true)
		p.pos += n
		kept = append(kept, p)
	}
	clear(l.playing[len(kept):])
	l.playing = kept
}

// bargeIn stops what a side hears played for it once that side has been
// speaking for bargeInFrames ticks: the playbacks to it, and in
// translation modes the audio clients queued that it hears, as audio.clear
// would (their marks come back). Called by the clock with the lock held,
// it looks at the frames queued for this tick, before they are popped.
func (l *live) bargeIn() {
	var heard, loud [2]bool
	for _, src := range l.sources {
		if src.track != Original || src.queue.count() == 0 {
			continue
		}
		i := sideOf(src.speaker)
		heard[i] = true
		if (*src.queue.peek()).louder(bargeInRMS) {
			loud[i] = true
		}
	}
	for i, spk := range [2]Speaker{SpeakerCustomer, SpeakerAgent} {
		if !heard[i] {
			// A network frame late for its tick, or a side that has
			// stopped sending: its speech fades out of the count.
			l.talking[i] = max(0, l.talking[i]-1)
			continue
		}
		if !loud[i] {
			l.talking[i] = 0
			continue
		}
		if l.talking[i]++; l.talking[i] != bargeInFrames {
			continue
		}
		l.stopPlaybacks(func(p *Playback) bool { return p.src.speaker != spk })
		if l.xl == nil {
			continue
		}
		for _, src := range l.sources {
			if src.owner == nil || src.queue.count() == 0 || !l.hears(spk, src) {
				continue
			}
			src.clear()
			l.clearPlayback(src.speaker)
			for _, name := range src.dueMarks() {
				l.due = append(l.due, dueMark{src, name})
			}
		}
	}
}

// stopPlaybacks ends the playbacks that match (with the lock held). Their
// sources hold no frame between ticks, so nothing more of them plays.
func (l *live) stopPlaybacks(match func(*Playback) bool) {
	kept := l.playing[:0]
	for _, p := range l.playing {
		if !match(p) {
			kept = append(kept, p)
			continue
		}
		if p.pos == 0 {
			p.start = l.ms
		}
		p.end = l.ms
		p.cut.Store(true)
		close(p.done)
	}
	clear(l.playing[len(kept):])
	l.playing = kept
}

// Speak plays pcm (mono, Rate) to the call legs of side to in a session
// live on this node, as the other side's track (Translated or Synthesized),
// after what already plays there on that track: see Playback. It returns
// ErrNotFound when nothing of the session is connected here.
func (m *Manager) Speak(sessionID string, to Speaker, track Track, pcm []int16) (*Playback, error) {
	m.liveMu.Lock()
	l := m.lives[sessionID]
	m.liveMu.Unlock()
	if l == nil {
		return nil, ErrNotFound
	}
	return l.speak(to, track, pcm), nil
}
