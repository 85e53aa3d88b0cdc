package stream_test

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/voxgate/voxgate/media/mediatest"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/stream"
)

func pcm16Input(seq int, speaker string, rate int, pcm []int16) map[string]any {
	b := make([]byte, 0, 2*len(pcm))
	for _, v := range pcm {
		b = binary.LittleEndian.AppendUint16(b, uint16(v))
	}
	return map[string]any{"type": "audio.input", "sequence": seq, "timestamp_ms": seq * 100, "speaker": speaker,
		"audio": map[string]any{"encoding": "pcm16", "sample_rate_hz": rate, "payload": base64.StdEncoding.EncodeToString(b)}}
}

// PCM16 input at every rate the protocol takes reaches another client as
// the same tone, resampled to its format.
func TestPCM16InputRates(t *testing.T) {
	g := newGateway(t, stream.Config{})
	for _, rate := range []int{8000, 24000, 48000} {
		t.Run(fmt.Sprint(rate), func(t *testing.T) {
			sid, token := g.session()
			a := g.dial(sid, token, "&audio=none")
			b := g.dial(sid, token, "&audio=pcm16_16000&tracks=original")
			a.next("session.ready")
			b.next("session.ready")
			sine := mediatest.NewSine(rate, 1000, -10)
			for i := range 10 {
				a.send(pcm16Input(i, "agent", rate, sine.Samples(rate/10)))
			}
			var heard []int16
			for range 50 {
				m := b.next("audio.output")
				if m.m["speaker"] != "agent" {
					t.Fatalf("frame: %s", m.raw)
				}
				heard = append(heard, pcmOf(t, m)...)
			}
			mediatest.CheckTone(t, heard[1600:], 16000, mediatest.ToneWant{Freq: 1000, Level: -10, MinSNR: 30})
		})
	}
}

// More than 60 s queued ahead of real time: playout_queue_full, and the
// stream stays open; after audio.clear the client may speak again.
func TestPlayoutQueueFull(t *testing.T) {
	g := newGateway(t, stream.Config{})
	sid, token := g.session()
	a := g.dial(sid, token, "&audio=none")
	a.next("session.ready")
	sine := mediatest.NewSine(8000, 440, -10)
	for i := range 65 {
		a.send(mulawInput(i, "customer", sine.Samples(8000)))
	}
	a.send(map[string]any{"type": "ping"})
	if n := errorsUntilPong(t, a); n == 0 {
		t.Fatal("65 s queued without playout_queue_full")
	}
	a.send(map[string]any{"type": "audio.clear"})
	a.send(mulawInput(65, "customer", sine.Samples(8000)))
	a.send(map[string]any{"type": "ping"})
	if n := errorsUntilPong(t, a); n != 0 {
		t.Fatalf("%d errors after audio.clear", n)
	}
}

// errorsUntilPong counts the playout_queue_full errors before the next pong
// (replies keep the order of the requests).
func errorsUntilPong(t *testing.T, c *client) int {
	t.Helper()
	n := 0
	deadline := time.After(15 * time.Second)
	for {
		select {
		case m := <-c.msgs:
			switch m.m["type"] {
			case "session.error":
				if m.m["code"] != "playout_queue_full" {
					t.Fatalf("error: %s", m.raw)
				}
				n++
			case "pong":
				return n
			}
		case <-deadline:
			t.Fatal("no pong")
		}
	}
}

// session.ready lists the session's calls.
func TestReadyListsCalls(t *testing.T) {
	g := newGateway(t, stream.Config{})
	sid, token := g.session()
	call, err := g.m.StartCall(context.Background(), sid, session.Call{Direction: "inbound", Transport: "sip", Speaker: session.SpeakerCustomer, From: "+4915112345678", To: "+4930123456", Status: "ringing"})
	if err != nil {
		t.Fatal(err)
	}
	ready := g.dial(sid, token, "").next("session.ready")
	calls, _ := ready.m["calls"].([]any)
	if len(calls) != 1 || calls[0].(map[string]any)["id"] != call.ID {
		t.Fatalf("session.ready: %s", ready.raw)
	}
}
