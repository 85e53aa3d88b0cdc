package stream_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voxgate/voxgate/media"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/stream"
)

// feedLeg is a call leg whose party says whatever the benchmark feeds it,
// as fast as it is fed (PCM at the session rate, so no codec cost).
type feedLeg struct {
	in   chan []int16
	done chan struct{}
}

func (l *feedLeg) CallID() string               { return "call_bench" }
func (l *feedLeg) Speaker() session.Speaker     { return session.SpeakerCustomer }
func (l *feedLeg) Format() media.Format         { return media.PCM16(session.Rate) }
func (l *feedLeg) WriteFrame(media.Frame) error { return nil }
func (l *feedLeg) Close(error) error            { return nil }
func (l *feedLeg) ReadFrame(f *media.Frame) error {
	select {
	case f.Samples = <-l.in:
		return nil
	case <-l.done:
		return errors.New("done")
	}
}

// BenchmarkFanOut pushes a leg's frames into a session as fast as they are
// taken and measures them arriving at N WebSocket clients as audio.output
// (μ-law 8 kHz, base64 JSON: the default). Run it with -benchtime=5000x:
// the test clients buffer 10,000 messages.
func BenchmarkFanOut(b *testing.B) {
	for _, n := range []int{1, 10} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			g := newGateway(b, stream.Config{AudioQueue: 1 << 14})
			sid, token := g.session()
			var clients []*client
			for range n {
				c := g.dial(sid, token, "")
				c.next("session.ready")
				clients = append(clients, c)
			}
			leg := &feedLeg{in: make(chan []int16, 64), done: make(chan struct{})}
			defer close(leg.done)
			if err := g.m.AddLeg(context.Background(), sid, leg); err != nil {
				b.Fatal(err)
			}
			frame := make([]int16, session.FrameSamples)
			b.ReportAllocs()
			b.ResetTimer()
			go func() {
				for range b.N {
					leg.in <- frame
				}
			}()
			for _, c := range clients {
				for got := 0; got < b.N; {
					if m := c.next("audio.output"); m.m["speaker"] == "customer" {
						got++
					}
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}

// BenchmarkLatency sends 20 ms frames in real time as audio.input from one
// client and times each until it arrives at another as audio.output.
func BenchmarkLatency(b *testing.B) {
	g := newGateway(b, stream.Config{})
	sid, token := g.session()
	sender := g.dial(sid, token, "&audio=none")
	receiver := g.dial(sid, token, "")
	sender.next("session.ready")
	receiver.next("session.ready")
	pcm := make([]int16, 160)
	var lat []time.Duration
	seq := 0
	tk := time.NewTicker(20 * time.Millisecond)
	defer tk.Stop()
	b.ReportAllocs()
	for b.Loop() {
		<-tk.C
		start := time.Now()
		sender.send(mulawInput(seq, "customer", pcm))
		seq++
		receiver.next("audio.output")
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkThousandSessions runs 1,000 sessions, each with a call leg and
// one WebSocket client, and moves one frame through every session per round
// (a round ends when all 1,000 clients have their frame as audio.output).
func BenchmarkThousandSessions(b *testing.B) {
	const n = 1000
	g := newGateway(b, stream.Config{})
	var received atomic.Int64
	legs := make([]*feedLeg, n)
	for i := range legs {
		sid, token := g.session()
		ws := g.dialRaw(sid, token, "")
		go func() {
			for {
				_, raw, err := ws.ReadMessage()
				if err != nil {
					return
				}
				if bytes.Contains(raw, []byte(`"audio.output"`)) {
					received.Add(1)
				}
			}
		}()
		legs[i] = &feedLeg{in: make(chan []int16, 1), done: make(chan struct{})}
		defer close(legs[i].done)
		if err := g.m.AddLeg(context.Background(), sid, legs[i]); err != nil {
			b.Fatal(err)
		}
	}
	frame := make([]int16, session.FrameSamples)
	b.ReportAllocs()
	b.ResetTimer()
	for round := int64(1); round <= int64(b.N); round++ {
		for _, l := range legs {
			l.in <- frame
		}
		for received.Load() < round*n {
			time.Sleep(100 * time.Microsecond)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "frames/s")
}
