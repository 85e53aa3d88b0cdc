package session_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/voxgate/voxgate/media"
	"github.com/voxgate/voxgate/media/mediatest"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/session/sessiontest"
	"github.com/voxgate/voxgate/store"
	"github.com/voxgate/voxgate/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fixture is a manager over a real SQLite store with one live-mode org.
type fixture struct {
	t   *testing.T
	m   *session.Manager
	st  *store.Store
	sc  store.Scope
	ctx context.Context
}

func newFixture(t *testing.T, cfg session.Config) *fixture {
	t.Helper()
	st := storetest.OpenConfig(t, store.Config{DataDir: t.TempDir()})
	cfg.PublicURL, cfg.SIPHost = "http://127.0.0.1:8080", "127.0.0.1"
	m, err := session.NewManager(cfg, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return &fixture{t: t, m: m, st: st, sc: store.Scope{OrgID: "org_test", Livemode: true}, ctx: ctx}
}

func (f *fixture) session(mode session.Mode) string {
	f.t.Helper()
	s, err := f.m.Create(f.ctx, f.sc, session.CreateParams{Mode: string(mode)})
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { _, _ = f.m.End(context.Background(), f.sc, s.ID, session.EndExplicit) })
	return s.ID
}

func (f *fixture) subscribe(id string, o session.SubscribeOptions) *session.Subscription {
	f.t.Helper()
	sub, err := f.m.Subscribe(f.ctx, id, o)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(sub.Close)
	return sub
}

// collect reads audio frames from sub until n frames of the speaker arrived.
func collect(t *testing.T, sub *session.Subscription, spk session.Speaker, n int) ([]int16, []session.AudioFrame) {
	t.Helper()
	var pcm []int16
	var frames []session.AudioFrame
	deadline := time.After(10 * time.Second)
	var f session.AudioFrame
	for len(frames) < n {
		for sub.NextAudio(&f) {
			if f.Speaker != spk {
				continue
			}
			c := f
			c.Samples = append([]int16(nil), f.Samples...)
			frames = append(frames, c)
			pcm = append(pcm, f.Samples...)
		}
		if len(frames) >= n {
			break
		}
		select {
		case <-sub.AudioReady():
		case <-deadline:
			t.Fatalf("got %d of %d frames", len(frames), n)
		}
	}
	return pcm, frames
}

func TestSubscriberAudioReachesOthersNotItself(t *testing.T) {
	f := newFixture(t, session.Config{})
	id := f.session(session.ModeMediaStream)
	a := f.subscribe(id, session.SubscribeOptions{})
	b := f.subscribe(id, session.SubscribeOptions{})
	tone := mediatest.Tone(session.Rate, 1000, -12, session.Rate/2)       // 500 ms
	if err := a.Input(session.SpeakerCustomer, tone[:1000]); err != nil { // odd sizes are carried over
		t.Fatal(err)
	}
	if err := a.Input(session.SpeakerCustomer, tone[1000:]); err != nil {
		t.Fatal(err)
	}
	pcm, frames := collect(t, b, session.SpeakerCustomer, 25)
	for i, fr := range frames {
		if fr.Track != session.Original || fr.Sequence != uint64(i) || fr.TimestampMS != int64(20*i) {
			t.Fatalf("frame %d: %+v", i, fr)
		}
	}
	mediatest.CheckTone(t, pcm, session.Rate, mediatest.ToneWant{Freq: 1000, Level: -12, MinSNR: 60})
	if a.QueuedAudio() != 0 {
		t.Fatalf("the sender got %d frames of its own audio", a.QueuedAudio())
	}
	// The first audio made the session active.
	waitFor(t, func() bool {
		s, _ := f.m.Get(f.ctx, f.sc, id)
		return s.Status == session.StatusActive
	})
}

func TestMarksAndClear(t *testing.T) {
	f := newFixture(t, session.Config{})
	id := f.session(session.ModeMediaStream)
	a := f.subscribe(id, session.SubscribeOptions{})
	b := f.subscribe(id, session.SubscribeOptions{})
	// No audio queued: the mark comes back at once.
	a.Mark("empty")
	if ev := sessiontest.Next(t, a, "mark"); ev.Name != "empty" {
		t.Fatalf("mark %q", ev.Name)
	}
	// 10 frames queued, then a mark: it comes back only once they played.
	if err := a.Input(session.SpeakerAgent, make([]int16, 10*session.FrameSamples)); err != nil {
		t.Fatal(err)
	}
	a.Mark("after-ten")
	ev := sessiontest.Next(t, a, "mark")
	if ev.Name != "after-ten" {
		t.Fatalf("mark %q", ev.Name)
	}
	if got := b.Stats().AudioQueued; got < 10 {
		t.Fatalf("mark echoed after only %d frames were played", got)
	}
	// A long queue, cleared: the mark comes back at once and the audio stops.
	if err := a.Input(session.SpeakerAgent, make([]int16, 500*session.FrameSamples)); err != nil {
		t.Fatal(err)
	}
	a.Mark("cleared")
	a.Clear()
	if ev := sessiontest.Next(t, a, "mark"); ev.Name != "cleared" {
		t.Fatalf("mark %q", ev.Name)
	}
	if q := a.Stats().PlayoutQueued; q != 0 {
		t.Fatalf("%d frames still queued after clear", q)
	}
}

func TestPlayoutQueueIsBounded(t *testing.T) {
	f := newFixture(t, session.Config{MaxPlayout: 50})
	id := f.session(session.ModeMediaStream)
	a := f.subscribe(id, session.SubscribeOptions{})
	err := a.Input(session.SpeakerCustomer, make([]int16, 80*session.FrameSamples))
	if !errors.Is(err, session.ErrPlayoutQueueFull) {
		t.Fatalf("err = %v", err)
	}
	if q := a.Stats().PlayoutQueued; q > 50 {
		t.Fatalf("%d frames queued past the cap", q)
	}
	if err := a.Input("nobody", []int16{1}); err == nil {
		t.Fatal("a speaker that is no side was accepted")
	}
}

func TestStalledSubscriberIsDroppedOthersUnaffected(t *testing.T) {
	f := newFixture(t, session.Config{})
	id := f.session(session.ModeMediaStream)
	stalled := f.subscribe(id, session.SubscribeOptions{AudioQueue: 20, EventQueue: 8})
	reader := f.subscribe(id, session.SubscribeOptions{})
	sender := f.subscribe(id, session.SubscribeOptions{})
	if err := sender.Input(session.SpeakerCustomer, make([]int16, 60*session.FrameSamples)); err != nil {
		t.Fatal(err)
	}
	_, frames := collect(t, reader, session.SpeakerCustomer, 60)
	for i, fr := range frames {
		if fr.Sequence != uint64(i) {
			t.Fatalf("reader lost or reordered frames: #%d has sequence %d", i, fr.Sequence)
		}
	}
	// The reader may take the last frame before the tick that queued it
	// has offered it to the stalled client.
	waitFor(t, func() bool { return stalled.Stats().AudioDropped >= 40 })
	st := stalled.Stats()
	if stalled.QueuedAudio() != 20 || st.AudioDropped != 40 {
		t.Fatalf("stalled client holds %d frames, dropped %d; want 20 and 40", stalled.QueuedAudio(), st.AudioDropped)
	}
	// Events overflow the stalled client's queue: it is closed as slow, and
	// the reader still gets every event in order.
	for i := range 20 {
		if err := f.m.Emit(f.ctx, id, "dtmf.received", map[string]any{"digit": string(rune('0' + i%10)), "n": i}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 20 {
		ev := sessiontest.Next(t, reader, "dtmf.received")
		if want := fmt.Sprintf(`"n":%d`, i); !strings.Contains(string(ev.Data), want) {
			t.Fatalf("event %d out of order: %s", i, ev.Data)
		}
	}
	<-stalled.Done()
	if !errors.Is(stalled.Err(), session.ErrSlowConsumer) {
		t.Fatalf("stalled client ended with %v", stalled.Err())
	}
	waitFor(t, func() bool { return f.m.Metrics().Subscribers == 2 }) // the session forgets it right after
	if m := f.m.Metrics(); m.AudioDropped < 40 || m.SlowConsumers != 1 {
		t.Fatalf("metrics: %+v", m)
	}
	// Stored events reach the outbox too.
	evs, _ := f.st.SessionEvents(f.ctx, id)
	n := 0
	for _, ev := range evs {
		if ev.Type == "dtmf.received" {
			n++
		}
	}
	if n != 20 {
		t.Fatalf("%d dtmf.received events stored", n)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 500 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not reached in 5 s")
}

// pipeLeg is an in-memory call leg: PCM16 at 16 kHz both ways. What it
// "hears" is recorded; what its party "says" is fed through say.
type pipeLeg struct {
	id      string
	speaker session.Speaker
	rate    int // of its PCM: session.Rate, or NarrowRate for a telephone-like leg
	in      chan []int16
	mu      sync.Mutex
	heard   []int16
	digits  string
	done    chan struct{}
	once    sync.Once
	cause   error
}

func newPipeLeg(id string, spk session.Speaker) *pipeLeg {
	return &pipeLeg{id: id, speaker: spk, rate: session.Rate, in: make(chan []int16, 100), done: make(chan struct{})}
}

func (p *pipeLeg) CallID() string           { return p.id }
func (p *pipeLeg) Speaker() session.Speaker { return p.speaker }
func (p *pipeLeg) Format() media.Format     { return media.PCM16(p.rate) }
func (p *pipeLeg) Done() <-chan struct{}    { return p.done }
func (p *pipeLeg) SendDTMF(d string) error  { p.mu.Lock(); p.digits += d; p.mu.Unlock(); return nil }
func (p *pipeLeg) Close(cause error) error {
	p.once.Do(func() { p.cause = cause; close(p.done) })
	return nil
}

func (p *pipeLeg) ReadFrame(f *media.Frame) error {
	select {
	case pcm := <-p.in:
		f.Samples = pcm
		return nil
	case <-p.done:
		return errors.New("leg closed")
	}
}

func (p *pipeLeg) WriteFrame(f media.Frame) error {
	p.mu.Lock()
	p.heard = append(p.heard, f.Samples...)
	p.mu.Unlock()
	return nil
}

func (p *pipeLeg) heardSoFar() []int16 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int16(nil), p.heard...)
}

func TestLegsHearTheOtherSide(t *testing.T) {
	f := newFixture(t, session.Config{})
	id := f.session(session.ModeMediaStream)
	customer := newPipeLeg("call_c", session.SpeakerCustomer)
	agent := newPipeLeg("call_a", session.SpeakerAgent)
	for _, l := range []*pipeLeg{customer, agent} {
		if err := f.m.AddLeg(f.ctx, id, l); err != nil {
			t.Fatal(err)
		}
	}
	bot := f.subscribe(id, session.SubscribeOptions{})
	// The customer says 1 kHz over the network (paced like RTP); a bot speaks 600 Hz as the agent.
	sine := mediatest.NewSine(session.Rate, 1000, -10)
	go func() {
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for range 50 {
			<-tk.C
			select {
			case customer.in <- sine.Samples(session.FrameSamples):
			case <-customer.done:
				return
			}
		}
	}()
	if err := bot.Input(session.SpeakerAgent, mediatest.Tone(session.Rate, 600, -10, session.Rate)); err != nil {
		t.Fatal(err)
	}
	// The bot (a subscriber) gets the customer's audio as it arrives.
	pcm, _ := collect(t, bot, session.SpeakerCustomer, 40)
	mediatest.CheckTone(t, pcm[5*session.FrameSamples:], session.Rate, mediatest.ToneWant{Freq: 1000, Level: -10, MinSNR: 40})
	waitFor(t, func() bool {
		return len(agent.heardSoFar()) >= 40*session.FrameSamples && len(customer.heardSoFar()) >= 40*session.FrameSamples
	})
	// The agent leg hears the customer (1 kHz) and the bot's agent audio is not
	// played back to the agent side; the customer leg hears the bot (600 Hz),
	// never itself.
	heardByAgent := agent.heardSoFar()
	if lvl := mediatest.Level(heardByAgent, session.Rate, 1000); lvl < -14 {
		t.Fatalf("agent leg hears the customer at %.1f dBFS", lvl)
	}
	if lvl := mediatest.Level(heardByAgent, session.Rate, 600); lvl > -50 {
		t.Fatalf("agent leg hears the agent-side bot at %.1f dBFS", lvl)
	}
	heardByCustomer := customer.heardSoFar()
	if lvl := mediatest.Level(heardByCustomer, session.Rate, 600); lvl < -14 {
		t.Fatalf("customer leg hears the bot at %.1f dBFS", lvl)
	}
	if lvl := mediatest.Level(heardByCustomer, session.Rate, 1000); lvl > -50 {
		t.Fatalf("customer leg hears itself at %.1f dBFS", lvl)
	}
	// DTMF from the bot (agent side) goes to the customer leg.
	if err := bot.SendDTMF("12#", ""); err != nil {
		t.Fatal(err)
	}
	customer.mu.Lock()
	digits := customer.digits
	customer.mu.Unlock()
	if digits != "12#" || agent.digits != "" {
		t.Fatalf("dtmf went to customer=%q agent=%q", digits, agent.digits)
	}
	// When the last call leg hangs up, the session ends with calls_ended.
	customer.Close(errors.New("bye"))
	agent.Close(errors.New("bye"))
	ev := sessiontest.Next(t, bot, session.EventSessionEnded)
	if ev.Reason != session.EndCallsEnded {
		t.Fatalf("ended with %q", ev.Reason)
	}
	<-bot.Done()
	if !errors.Is(bot.Err(), session.ErrEnded) {
		t.Fatalf("subscription ended with %v", bot.Err())
	}
}

func TestEndingClosesEverything(t *testing.T) {
	f := newFixture(t, session.Config{})
	id := f.session(session.ModeMediaStream)
	a := f.subscribe(id, session.SubscribeOptions{})
	b := f.subscribe(id, session.SubscribeOptions{})
	leg := newPipeLeg("call_x", session.SpeakerCustomer)
	if err := f.m.AddLeg(f.ctx, id, leg); err != nil {
		t.Fatal(err)
	}
	if err := a.EndSession(f.ctx); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*session.Subscription{a, b} {
		ev := sessiontest.Next(t, s, session.EventSessionEnded)
		if ev.Reason != session.EndExplicit || len(ev.Data) == 0 {
			t.Fatalf("final event: %+v", ev)
		}
		<-s.Done()
	}
	<-leg.Done()
	if !errors.Is(leg.cause, session.ErrEnded) {
		t.Fatalf("leg closed with %v", leg.cause)
	}
	if _, err := f.m.Subscribe(f.ctx, id, session.SubscribeOptions{}); !errors.Is(err, session.ErrEnded) {
		t.Fatalf("subscribe after end: %v", err)
	}
	if err := f.m.AddLeg(f.ctx, id, newPipeLeg("call_y", session.SpeakerAgent)); !errors.Is(err, session.ErrEnded) {
		t.Fatalf("leg after end: %v", err)
	}
	if _, err := f.m.Subscribe(f.ctx, "sess_01JD3ZZZZZZZZZZZZZZZZZZZZZ", session.SubscribeOptions{}); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("unknown session: %v", err)
	}
}

func TestEndAllAtShutdown(t *testing.T) {
	f := newFixture(t, session.Config{})
	a, b := f.session(session.ModeMediaStream), f.session(session.ModeMediaStream)
	subA := f.subscribe(a, session.SubscribeOptions{})
	subB := f.subscribe(b, session.SubscribeOptions{})
	if n := f.m.EndAll(f.ctx, session.EndShutdown); n != 2 {
		t.Fatalf("ended %d", n)
	}
	for _, s := range []*session.Subscription{subA, subB} {
		if ev := sessiontest.Next(t, s, session.EventSessionEnded); ev.Reason != session.EndShutdown {
			t.Fatalf("reason %s", ev.Reason)
		}
	}
	if f.m.Metrics().LiveSessions != 0 {
		t.Fatal("live sessions left")
	}
}

// TestAgentMaxDuration: a session whose agent has max_duration_seconds ends
// with max_duration that long after its call is answered, whatever drives
// the agent (an llm brain, a stream_url bot or nothing), and its legs close.
func TestAgentMaxDuration(t *testing.T) {
	f := newFixture(t, session.Config{})
	name, limit := "limited", 1
	a, err := f.m.CreateAgent(f.ctx, f.sc, session.AgentParams{Name: &name, MaxDurationSeconds: &limit})
	if err != nil {
		t.Fatal(err)
	}
	s, err := f.m.Create(f.ctx, f.sc, session.CreateParams{Mode: "media_stream", AgentID: &a.ID})
	if err != nil {
		t.Fatal(err)
	}
	sub := f.subscribe(s.ID, session.SubscribeOptions{})
	time.Sleep(1500 * time.Millisecond) // before the answer, the limit does not run
	leg := newPipeLeg("call_1", session.SpeakerCustomer)
	answered := time.Now() // the limit starts inside AddLeg, not before it
	if err := f.m.AddLeg(f.ctx, s.ID, leg); err != nil {
		t.Fatal(err)
	}
	if ev := sessiontest.Next(t, sub, session.EventSessionEnded); ev.Reason != session.EndMaxDuration {
		t.Fatalf("session ended with %s", ev.Reason)
	}
	if d := time.Since(answered); d < time.Duration(limit)*time.Second {
		t.Fatalf("ended %v after the answer, before its %d s", d, limit)
	}
	select {
	case <-leg.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the leg was not closed")
	}
}

// deliveringLeg is a pipeLeg that hands its frames to the session as they
// come (session.FrameDeliverer), the way a SIP call does.
type deliveringLeg struct {
	*pipeLeg
	w   media.Writer
	end media.EndNotice
}

func (d *deliveringLeg) DeliverFrames(w media.Writer, ended func()) {
	d.w = w
	d.end.Notify(ended)
}

func (d *deliveringLeg) Close(cause error) error {
	_ = d.pipeLeg.Close(cause)
	d.end.End()
	return nil
}

// TestDeliveringLeg: a leg that delivers its frames is heard, and leaves
// the session when it ends, with no goroutine of the session's waiting for
// that: the session ends with its last call. A session ended by a client
// closes such a leg and returns once it has left.
func TestDeliveringLeg(t *testing.T) {
	f := newFixture(t, session.Config{})
	id := f.session(session.ModeMediaStream)
	bot := f.subscribe(id, session.SubscribeOptions{})
	leg := &deliveringLeg{pipeLeg: newPipeLeg("call_d1", session.SpeakerCustomer)}
	if err := f.m.AddLeg(f.ctx, id, leg); err != nil {
		t.Fatal(err)
	}
	sine := mediatest.NewSine(session.Rate, 1000, -10)
	for range 25 {
		if err := leg.w.WriteFrame(media.Frame{Samples: sine.Samples(session.FrameSamples)}); err != nil {
			t.Fatal(err)
		}
	}
	pcm, _ := collect(t, bot, session.SpeakerCustomer, 20)
	mediatest.CheckTone(t, pcm[5*session.FrameSamples:], session.Rate, mediatest.ToneWant{Freq: 1000, Level: -10, MinSNR: 40})
	_ = leg.Close(errors.New("hung up"))
	if ev := sessiontest.Next(t, bot, session.EventSessionEnded); ev.Reason != session.EndCallsEnded {
		t.Fatalf("ended: %+v", ev)
	}

	id = f.session(session.ModeMediaStream)
	bot = f.subscribe(id, session.SubscribeOptions{})
	leg = &deliveringLeg{pipeLeg: newPipeLeg("call_d2", session.SpeakerCustomer)}
	if err := f.m.AddLeg(f.ctx, id, leg); err != nil {
		t.Fatal(err)
	}
	if err := bot.EndSession(f.ctx); err != nil {
		t.Fatal(err)
	}
	<-leg.Done()
	if !errors.Is(leg.cause, session.ErrEnded) {
		t.Fatalf("the leg closed with %v", leg.cause)
	}
	waitFor(t, func() bool { return f.m.Metrics().Legs == 0 })
}
