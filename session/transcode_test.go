//go:build cgo

package session_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/voxgate/voxgate/media"
	"github.com/voxgate/voxgate/media/mediatest"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/transcode"
	"github.com/voxgate/voxgate/transcode/opus"
)

// opusLeg is a WebRTC-like leg: it hears Opus and keeps the packets' sizes
// and the bandwidths their TOC bytes name (mediatest.OpusBandwidth).
type opusLeg struct {
	done  chan struct{}
	once  sync.Once
	mu    sync.Mutex
	sizes []int
	bands []int
}

func (l *opusLeg) CallID() string           { return "call_opus" }
func (l *opusLeg) Speaker() session.Speaker { return session.SpeakerCustomer }
func (l *opusLeg) Format() media.Format {
	return media.Format{Codec: media.CodecOpus, SampleRate: 48000, Channels: 1}
}
func (l *opusLeg) Close(error) error { l.once.Do(func() { close(l.done) }); return nil }
func (l *opusLeg) ReadFrame(*media.Frame) error {
	<-l.done
	return session.ErrEnded
}
func (l *opusLeg) WriteFrame(f media.Frame) error {
	l.mu.Lock()
	l.sizes = append(l.sizes, len(f.Payload))
	l.bands = append(l.bands, mediatest.OpusBandwidth(f.Payload))
	l.mu.Unlock()
	return nil
}

// opusLegHears plays a second of a loud 440 Hz tone from a client (at 8 kHz
// when narrow, else 16 kHz) to an Opus leg of a session of a manager with
// cfg, and returns the sizes and bandwidths of the packets the leg heard in
// 1.5 s.
func opusLegHears(t *testing.T, cfg session.Config, narrow bool) (sizes []int, bands []int) {
	t.Helper()
	f := newFixture(t, cfg)
	id := f.session(session.ModeMediaStream)
	leg := &opusLeg{done: make(chan struct{})}
	if err := f.m.AddLeg(f.ctx, id, leg); err != nil {
		t.Fatal(err)
	}
	bot := f.subscribe(id, session.SubscribeOptions{})
	input, rate := bot.Input, session.Rate
	if narrow {
		input, rate = bot.InputNarrow, session.NarrowRate
	}
	if err := input(session.SpeakerAgent, mediatest.Tone(rate, 440, -6, rate)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	leg.mu.Lock()
	defer leg.mu.Unlock()
	if len(leg.sizes) < 50 {
		t.Fatalf("the leg heard %d packets in 1.5 s", len(leg.sizes))
	}
	return slices.Clone(leg.sizes), slices.Clone(leg.bands)
}

// The Opus a leg hears is encoded as the manager's Transcode config says: a
// loud tone's 20 ms packets are about 20 bytes at 8 kbit/s (the bitrate's
// 20), several times that at 64 kbit/s (a tone needs less than its 160).
func TestOpusEncoderConfig(t *testing.T) {
	largest := func(bitrate int) int {
		cfg := session.Config{Transcode: transcode.Config{Opus: opus.EncoderConfig{Bitrate: bitrate, Complexity: 1}}}
		sizes, _ := opusLegHears(t, cfg, false)
		slices.Sort(sizes)
		return sizes[len(sizes)-25] // among the tone's packets
	}
	low, high := largest(8000), largest(64000)
	if low > 30 || high < 3*low {
		t.Fatalf("loud packets of %d bytes at 8 kbit/s and %d at 64 kbit/s", low, high)
	}
}

// An Opus leg that hears telephone audio alone (an 8 kHz client here, as a
// G.711 leg would be) gets narrowband Opus from its first packet, and
// wideband when what it hears is wideband: libopus codes no empty band.
func TestOpusLegBandFollowsWhatItHears(t *testing.T) {
	for _, tt := range []struct {
		narrow bool
		want   int
	}{{true, 8000}, {false, 16000}} {
		_, bands := opusLegHears(t, session.Config{}, tt.narrow)
		if slices.ContainsFunc(bands, func(b int) bool { return b != tt.want }) {
			t.Errorf("narrow input %v: the leg heard bandwidths %v, want %d throughout", tt.narrow, bands, tt.want)
		}
	}
}
