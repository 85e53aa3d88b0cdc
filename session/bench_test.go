package session

import (
	"fmt"
	"path/filepath"
	"testing"

	"go.uber.org/zap"

	"github.com/voxgate/voxgate/media"
	"github.com/voxgate/voxgate/media/record"
	"github.com/voxgate/voxgate/store"
	"github.com/voxgate/voxgate/transcode"
)

// nullLeg is a leg that takes frames and sends none, for benchmarks.
type nullLeg struct{ speaker Speaker }

func (n nullLeg) CallID() string             { return "call_" + string(n.speaker) }
func (n nullLeg) Speaker() Speaker           { return n.speaker }
func (nullLeg) Format() media.Format         { return media.PCM16(Rate) }
func (nullLeg) ReadFrame(*media.Frame) error { select {} }
func (nullLeg) WriteFrame(media.Frame) error { return nil }
func (nullLeg) Close(error) error            { return nil }

// passTo is an encoding pipeline that hands the mixed PCM to w unchanged.
func passTo(w media.Writer) *transcode.Pipeline {
	p, err := transcode.Chain(media.PCM16(Rate), media.PCM16(Rate), w)
	if err != nil {
		panic(err) // a PCM format Chain always takes
	}
	return p
}

// benchLive is a live session whose clock the benchmark drives by hand.
func benchLive(b *testing.B, subs int) (*live, *Subscription, []*Subscription) {
	m := &Manager{cfg: Config{MaxPlayout: 1 << 20, MaxSubscribers: 1 << 20}, log: zap.NewNop(), lives: map[string]*live{}}
	l := newLive(m, "sess_bench", store.Scope{}, ModeMediaStream)
	l.started.Store(true) // no store behind this manager
	sender, _ := l.subscribe(SubscribeOptions{})
	var readers []*Subscription
	for range subs {
		s, _ := l.subscribe(SubscribeOptions{})
		readers = append(readers, s)
	}
	for _, spk := range []Speaker{SpeakerCustomer, SpeakerAgent} {
		lr := &legRunner{l: l, leg: nullLeg{spk}}
		lr.src = &source{speaker: spk, track: Original, max: legQueue, leg: lr}
		lr.encode = passTo(nullLeg{spk})
		l.legs[lr.leg.CallID()] = lr
		l.sources = append(l.sources, lr.src)
	}
	return l, sender, readers
}

// BenchmarkTick measures one 20 ms tick of a session with a client speaking
// as the customer, a customer leg and an agent leg (each mixed and written),
// and N subscribers receiving the client's audio, draining as they go.
func BenchmarkTick(b *testing.B) {
	for _, n := range []int{1, 10} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			l, sender, readers := benchLive(b, n)
			frame := make([]int16, FrameSamples)
			var out AudioFrame
			out.Samples = make([]int16, FrameSamples)
			b.ReportAllocs()
			for b.Loop() {
				_ = sender.Input(SpeakerCustomer, frame)
				tick(l)
				for _, r := range readers {
					for r.NextAudio(&out) {
					}
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}

// BenchmarkLegArrival measures a leg's decoded frame entering the session,
// fanned out to one subscriber: in a phone call (the leg alone, its frame
// queued for the mix) and in a bridged call (the frame cut through to the
// other leg, encoded and written).
func BenchmarkLegArrival(b *testing.B) {
	for _, bridged := range []bool{false, true} {
		b.Run(fmt.Sprintf("bridged=%v", bridged), func(b *testing.B) {
			l, _, readers := benchLive(b, 1)
			lr := l.legs[nullLeg{SpeakerCustomer}.CallID()]
			if !bridged {
				l.removeLeg(l.legs[nullLeg{SpeakerAgent}.CallID()])
			}
			f := media.Frame{Samples: make([]int16, FrameSamples)}
			var out AudioFrame
			out.Samples = make([]int16, FrameSamples)
			b.ReportAllocs()
			for b.Loop() {
				_ = lr.arrive(f)
				for readers[0].NextAudio(&out) {
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}

// BenchmarkThousandSessions measures the work of one 20 ms period across
// 1,000 sessions, each with one client speaking and one subscriber.
func BenchmarkThousandSessions(b *testing.B) {
	type one struct {
		l      *live
		sender *Subscription
		reader *Subscription
	}
	all := make([]one, 1000)
	for i := range all {
		l, s, r := benchLive(b, 1)
		all[i] = one{l, s, r[0]}
	}
	frame := make([]int16, FrameSamples)
	var out AudioFrame
	out.Samples = make([]int16, FrameSamples)
	b.ReportAllocs()
	for b.Loop() {
		for _, x := range all {
			_ = x.sender.Input(SpeakerCustomer, frame)
			tick(x.l)
			for x.reader.NextAudio(&out) {
			}
		}
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "session-frames/s")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)/0.020*100, "%core-per-20ms")
}

// BenchmarkTickRecording is BenchmarkTick with one subscriber and the
// session recorded (mixed and dual WAV files, written as the clock runs).
func BenchmarkTickRecording(b *testing.B) {
	for _, rate := range []int{8000, Rate} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) {
			l, sender, readers := benchLive(b, 1)
			rc := &recorder{narrow: rate == NarrowRate}
			for i, ch := range []int{1, 2} {
				rec, err := record.New(filepath.Join(b.TempDir(), fmt.Sprintf("%d.wav", i)), record.Options{SampleRate: rate, Channels: ch})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { _ = rec.Close() })
				rc.files = append(rc.files, &recordingFile{rec: rec})
			}
			l.rec = rc
			frame := make([]int16, FrameSamples)
			var out AudioFrame
			out.Samples = make([]int16, FrameSamples)
			b.ReportAllocs()
			for b.Loop() {
				_ = sender.Input(SpeakerCustomer, frame)
				tick(l)
				for readers[0].NextAudio(&out) {
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}

// BenchmarkSubscription measures what one subscriber costs in memory when it
// joins (B/op): its queues before any audio or event has waited in them.
func BenchmarkSubscription(b *testing.B) {
	l, _, _ := benchLive(b, 0)
	b.ReportAllocs()
	for b.Loop() {
		s, _ := l.subscribe(SubscribeOptions{})
		l.unsubscribe(s, nil)
	}
}
