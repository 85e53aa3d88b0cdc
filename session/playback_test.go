package session

import (
	"errors"
	"testing"

	"go.uber.org/zap"

	"github.com/voxgate/voxgate/media"
	"github.com/voxgate/voxgate/media/mediatest"
	"github.com/voxgate/voxgate/store"
)

// heardLeg records what the clock writes to a leg.
type heardLeg struct {
	nullLeg
	heard []int16
}

func (h *heardLeg) WriteFrame(f media.Frame) error {
	h.heard = append(h.heard, f.Samples...)
	return nil
}

// tick runs one tick of l's clock, as the clock goroutine does.
func tick(l *live) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tick()
}

// playbackLive is a media_stream session with an agent leg and a
// subscriber, whose clock the test drives by hand.
func playbackLive(t *testing.T) (*live, *heardLeg, *Subscription) {
	m := &Manager{cfg: Config{MaxPlayout: 1 << 10, MaxSubscribers: 4}, log: zap.NewNop(), lives: map[string]*live{}}
	l := newLive(m, "sess_playback", store.Scope{}, ModeMediaStream)
	l.started.Store(true) // no store behind this manager
	m.lives[l.id] = l
	sub, err := l.subscribe(SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	agent := &heardLeg{nullLeg: nullLeg{SpeakerAgent}}
	lr := &legRunner{l: l, leg: agent, encode: passTo(agent)}
	lr.src = &source{speaker: SpeakerAgent, track: Original, max: legQueue, leg: lr}
	l.legs[agent.CallID()] = lr
	l.sources = append(l.sources, lr.src)
	return l, agent, sub
}

func ended(p *Playback) bool {
	select {
	case <-p.Done():
		return true
	default:
		return false
	}
}

// TestPlaybackInOrder: speech given to one side plays in real time, one
// playback after the other, to that side's legs and to subscribers as the
// other side's synthesized track; each reports its end.
func TestPlaybackInOrder(t *testing.T) {
	l, agent, sub := playbackLive(t)
	first := mediatest.Tone(Rate, 600, -10, 5*FrameSamples+10) // 6 frames, the last short
	second := mediatest.Tone(Rate, 1000, -10, 3*FrameSamples)
	p1 := l.speak(SpeakerAgent, Synthesized, first)
	p2, err := l.m.Speak(l.id, SpeakerAgent, Synthesized, second)
	if err != nil {
		t.Fatal(err)
	}
	for range 6 {
		tick(l)
	}
	if ended(p1) || ended(p2) {
		t.Fatal("a playback ended before its last frame was played")
	}
	tick(l) // p1 ends; p2 starts
	if !ended(p1) || p1.Interrupted() || ended(p2) {
		t.Fatalf("after 7 ticks: p1 ended %v (interrupted %v), p2 ended %v", ended(p1), p1.Interrupted(), ended(p2))
	}
	for range 3 {
		tick(l)
	}
	tick(l)
	if !ended(p2) || p2.Interrupted() {
		t.Fatal("p2 did not end once played")
	}
	// In media time: p1 played in ticks 0-5 (0-120 ms), p2 in ticks 6-8.
	if s, e := p1.Span(); s != 0 || e != 120 {
		t.Errorf("p1 played %d-%d ms, want 0-120", s, e)
	}
	if s, e := p2.Span(); s != 120 || e != 180 {
		t.Errorf("p2 played %d-%d ms, want 120-180", s, e)
	}
	want := append(append(append([]int16(nil), first...), make([]int16, FrameSamples-10)...), second...)
	if got := agent.heard[:len(want)]; !equal(got, want) {
		t.Error("the agent leg did not hear the two playbacks in order, whole")
	}
	var f AudioFrame
	var seq []uint64
	for sub.NextAudio(&f) {
		if f.Speaker != SpeakerCustomer || f.Track != Synthesized {
			t.Fatalf("subscriber got %s/%s", f.Speaker, f.Track)
		}
		seq = append(seq, f.Sequence)
	}
	if len(seq) != 9 || seq[0] != 0 || seq[8] != 8 {
		t.Errorf("subscriber got frames %v, want 0..8", seq)
	}
}

// TestPlaybackStops: Stop, a client's audio.clear and the listener talking
// over it (barge-in) each end a playback early; a stopped queued playback
// never starts; the session ending ends the rest.
func TestPlaybackStops(t *testing.T) {
	l, agent, sub := playbackLive(t)
	long := mediatest.Tone(Rate, 600, -10, Rate)
	p := l.speak(SpeakerAgent, Synthesized, long)
	queued := l.speak(SpeakerAgent, Synthesized, long)
	tick(l)
	queued.Stop()
	p.Stop()
	p.Stop() // twice is harmless
	if !ended(p) || !p.Interrupted() || !ended(queued) || !queued.Interrupted() {
		t.Fatal("Stop did not end the playbacks")
	}
	n := len(agent.heard)
	tick(l)
	if lvl := mediatest.Level(agent.heard[n:], Rate, 600); lvl > -60 {
		t.Errorf("a stopped playback still plays (%.1f dBFS)", lvl)
	}

	p = l.speak(SpeakerAgent, Synthesized, long)
	tick(l)
	sub.Clear()
	if !ended(p) || !p.Interrupted() {
		t.Error("audio.clear did not stop the playback")
	}

	// The agent side starts talking (a client speaking as the agent): after
	// 100 ms the playback to the agent stops; one to the customer plays on.
	p = l.speak(SpeakerAgent, Synthesized, long)
	other := l.speak(SpeakerCustomer, Synthesized, long)
	talk := mediatest.Tone(Rate, 300, -20, 10*FrameSamples)
	if err := l.input(sub, SpeakerAgent, talk, false); err != nil {
		t.Fatal(err)
	}
	for range bargeInFrames - 1 {
		tick(l)
	}
	if ended(p) {
		t.Fatal("barge-in before 100 ms of speech")
	}
	tick(l)
	if !ended(p) || !p.Interrupted() || ended(other) {
		t.Fatalf("after 100 ms of the agent talking: ended %v, the customer's playback ended %v", ended(p), ended(other))
	}
	if _, err := l.m.Speak("sess_elsewhere", SpeakerAgent, Synthesized, long); !errors.Is(err, ErrNotFound) {
		t.Errorf("Speak to a session not live here: %v", err)
	}
	l.stop(EndExplicit, nil)
	if !ended(other) || !other.Interrupted() {
		t.Error("the session ended and its playback did not")
	}
	if late := l.speak(SpeakerAgent, Synthesized, long); !ended(late) {
		t.Error("speech given to an ended session did not end at once")
	}
}

// TestPlaybackTickAllocates: playing synthesized speech allocates nothing
// per frame.
func TestPlaybackTickAllocates(t *testing.T) {
	l, agent, sub := playbackLive(t)
	l.speak(SpeakerAgent, Synthesized, make([]int16, 60*Rate))
	tick(l)
	agent.heard = make([]int16, 0, 200*FrameSamples)
	f := AudioFrame{Samples: make([]int16, FrameSamples)}
	if a := testing.AllocsPerRun(100, func() {
		tick(l)
		for sub.NextAudio(&f) {
		}
	}); a != 0 {
		t.Errorf("%.1f allocations per tick", a)
	}
}

func equal(a, b []int16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
