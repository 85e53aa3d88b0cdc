package transcode

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/voxgate/voxgate/media"
	"github.com/voxgate/voxgate/media/mediatest"
	"github.com/voxgate/voxgate/transcode/opus"
)

var (
	pcmu    = media.Format{Codec: media.CodecPCMU, SampleRate: 8000}
	pcma    = media.Format{Codec: media.CodecPCMA, SampleRate: 8000}
	g722f   = media.Format{Codec: media.CodecG722, SampleRate: 16000}
	opusf   = media.Format{Codec: media.CodecOpus, SampleRate: 48000, Channels: 2}
	formats = []media.Format{
		pcmu, pcma, g722f, opusf,
		media.PCM16(8000), media.PCM16(16000), media.PCM16(24000), media.PCM16(48000),
	}
)

// newChain is Chain for tests: it skips the test when Opus is unavailable
// (a build without cgo) and fails it on any other error.
func newChain(t testing.TB, from, to media.Format, next media.Writer) *Pipeline {
	t.Helper()
	c, err := Chain(from, to, next)
	if errors.Is(err, opus.ErrUnavailable) {
		t.Skipf("Chain(%v, %v): %v", from, to, err)
	}
	if err != nil {
		t.Fatalf("Chain(%v, %v): %v", from, to, err)
	}
	return c
}

// run pushes frames through a fresh chain from → to and returns what came out.
func run(t testing.TB, from, to media.Format, frames []media.Frame) *mediatest.Sink {
	t.Helper()
	sink := &mediatest.Sink{}
	c := newChain(t, from, to, sink)
	for _, f := range frames {
		if err := c.WriteFrame(f); err != nil {
			t.Fatalf("%v: %v", c, err)
		}
	}
	return sink
}

// framesOf turns a sink's output back into frames of 20 ms at rate.
func framesOf(s *mediatest.Sink, f media.Format) []media.Frame {
	if f.IsPCM() {
		return mediatest.Frames(s.Samples(), f.SampleRate)
	}
	var out []media.Frame
	step := uint32(media.SamplesIn(f.SampleRate, media.FrameDuration))
	for i, p := range s.Payloads() {
		out = append(out, media.Frame{Payload: p, Timestamp: uint32(i) * step})
	}
	return out
}

// TestToneThroughChains carries a 1020 Hz tone from L16 into every format,
// through every chain to every other format, and back to L16: the tone must
// arrive at the right frequency and level with a clean SNR.
func TestToneThroughChains(t *testing.T) {
	const freq, level = 1020, -10
	for _, from := range formats {
		for _, to := range formats {
			if from == to {
				continue
			}
			t.Run(fmt.Sprintf("%v-%v", from, to), func(t *testing.T) {
				srcRate := from.SampleRate
				tone := mediatest.Tone(srcRate, freq, level, srcRate*2/5)
				in := framesOf(run(t, media.PCM16(srcRate), from, mediatest.Frames(tone, srcRate)), from)
				mid := run(t, from, to, in)
				outRate := min(to.SampleRate, 48000)
				out := run(t, to, media.PCM16(outRate), framesOf(mid, to)).Samples()
				minSNR := 30.0
				if from.Codec == media.CodecOpus || to.Codec == media.CodecOpus {
					minSNR = 20
				}
				// Skip 100 ms of codec delay and adaptation.
				m := mediatest.CheckTone(t, out[outRate/10:], outRate, mediatest.ToneWant{Freq: freq, Level: level, MinSNR: minSNR})
				t.Logf("level %.2f dBFS, SNR %.1f dB", m.Level, m.SNR)
			})
		}
	}
}

func TestChainString(t *testing.T) {
	tests := []struct {
		from, to media.Format
		want     string
	}{
		{pcmu, media.PCM16(16000), "PCMU(8000) -> Resample(8000->16000) -> L16/16000 -> WriterFunc"},
		{pcmu, media.PCM16(8000), "PCMU(8000) -> L16/8000 -> WriterFunc"},
		{opusf, media.PCM16(16000), "opus(48000->16000) -> L16/16000 -> WriterFunc"},
		{media.PCM16(16000), pcmu, "L16(16000) -> Resample(16000->8000) -> PCMU/8000 -> WriterFunc"},
		{media.PCM16(16000), opusf, "L16(16000) -> opus/48000 -> WriterFunc"},
		{pcma, g722f, "PCMA(8000) -> Resample(8000->16000) -> G722/16000 -> WriterFunc"},
		{g722f, opusf, "G722(16000) -> opus/48000 -> WriterFunc"},
		{media.Format{Codec: "PCMU", SampleRate: 8000, Channels: 1}, pcmu, "WriterFunc"},
	}
	sink := media.WriterFunc(func(media.Frame) error { return nil })
	for _, tt := range tests {
		c, err := Chain(tt.from, tt.to, sink)
		if errors.Is(err, opus.ErrUnavailable) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(c); got != tt.want {
			t.Errorf("Chain(%v, %v) = %q, want %q", tt.from, tt.to, got, tt.want)
		}
	}
}

// TestConcealFade checks G.711's repeat-and-fade: the first lost frame
// repeats the tone a little quieter, later ones fade, the fourth is silent.
func TestConcealFade(t *testing.T) {
	tone := mediatest.Tone(8000, 500, -6, 160*10)
	enc := run(t, media.PCM16(8000), pcmu, mediatest.Frames(tone, 8000))
	frames := framesOf(enc, pcmu)
	for i := 5; i < 9; i++ {
		frames[i] = media.Frame{Missing: true, Timestamp: frames[i].Timestamp}
	}
	sink := &mediatest.Sink{}
	c, _ := Chain(pcmu, media.PCM16(8000), sink)
	for _, f := range frames {
		if err := c.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	out := sink.Samples()
	rms := func(k int) float64 {
		var sum float64
		for _, v := range out[160*k : 160*(k+1)] {
			sum += float64(v) * float64(v)
		}
		return math.Sqrt(sum / 160)
	}
	good := rms(4)
	for k, want := range map[int][2]float64{5: {0.75, 0.9}, 6: {0.4, 0.6}, 7: {0.1, 0.3}, 8: {0, 0}} {
		if r := rms(k) / good; r < want[0]-1e-9 || r > want[1]+1e-9 {
			t.Errorf("lost frame %d: level %.2f of the good one, want %.2f-%.2f", k-4, r, want[0], want[1])
		}
	}
	if got := mediatest.Level(out[160*9:], 8000, 500); math.Abs(got+6) > 1 {
		t.Errorf("after the loss the tone is at %.1f dBFS, want -6", got)
	}
	if st := c.Stats(); st.Frames != 10 || st.Concealed != 4 || st.DecodeErrors != 0 {
		t.Errorf("Stats = %+v", st)
	}
}

// TestConcealOpus checks that an Opus chain uses Opus's own concealment,
// which continues the tone, and that undecodable packets are concealed too.
func TestConcealOpus(t *testing.T) {
	tone := mediatest.Tone(16000, 440, -10, 320*12)
	frames := framesOf(run(t, media.PCM16(16000), opusf, mediatest.Frames(tone, 16000)), opusf)
	frames[10] = media.Frame{Missing: true, Timestamp: frames[10].Timestamp}
	frames[11] = media.Frame{Payload: []byte{0xFF, 0xFF, 0xFF}, Timestamp: frames[11].Timestamp}
	sink := &mediatest.Sink{}
	c := newChain(t, opusf, media.PCM16(16000), sink)
	for _, f := range frames {
		if err := c.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	out := sink.Samples()
	if len(out) != 320*12 {
		t.Fatalf("%d samples out, want %d", len(out), 320*12)
	}
	if l := mediatest.Level(out[3200:3520], 16000, 440); l < -16 {
		t.Errorf("concealed frame carries the tone at %.1f dBFS, want near -10", l)
	}
	if st := c.Stats(); st.Concealed != 2 || st.DecodeErrors != 1 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestChainTimestamps(t *testing.T) {
	tests := []struct {
		from, to media.Format
		in       []uint32
		want     []uint32
	}{
		{pcmu, media.PCM16(16000), []uint32{1000, 1160, 1480}, []uint32{2000, 2320, 2960}},
		{opusf, media.PCM16(16000), []uint32{960, 1920}, []uint32{320, 640}},
		{media.PCM16(16000), pcmu, []uint32{math.MaxUint32 - 319, 0}, []uint32{math.MaxUint32/2 - 159, math.MaxUint32/2 + 1}},
		{media.PCM16(8000), opusf, []uint32{0, 160, 320}, []uint32{0, 960, 1920}},
	}
	for _, tt := range tests {
		var frames []media.Frame
		src := mediatest.NewSine(tt.from.SampleRate, 700, -10)
		for _, ts := range tt.in {
			var f media.Frame
			_ = src.ReadFrame(&f)
			f.Timestamp = ts
			if !tt.from.IsPCM() {
				f = media.Frame{Missing: true, Timestamp: ts}
			}
			frames = append(frames, f)
		}
		var got []uint32
		c, err := Chain(tt.from, tt.to, media.WriterFunc(func(f media.Frame) error {
			got = append(got, f.Timestamp)
			return nil
		}))
		if errors.Is(err, opus.ErrUnavailable) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range frames {
			if err := c.WriteFrame(f); err != nil {
				t.Fatal(err)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%v: timestamps %v -> %v, want %v", c, tt.in, got, tt.want)
		}
	}
}

// TestOpusGathersFrames writes L16 in pieces that are not 20 ms long; the
// Opus encoder still gets whole 20 ms frames, with running timestamps.
func TestOpusGathersFrames(t *testing.T) {
	var ts []uint32
	c := newChain(t, media.PCM16(16000), opusf, media.WriterFunc(func(f media.Frame) error {
		ts = append(ts, f.Timestamp)
		return nil
	}))
	x := mediatest.Tone(16000, 700, -10, 16000)
	for off, n := 0, 7; off < len(x); off, n = off+n, n*3%700+1 {
		end := min(off+n, len(x))
		if err := c.WriteFrame(media.Frame{Samples: x[off:end], Timestamp: uint32(off)}); err != nil {
			t.Fatal(err)
		}
	}
	if len(ts) != 50 {
		t.Fatalf("%d Opus frames from 1 s of audio, want 50", len(ts))
	}
	for i, v := range ts {
		if v != uint32(960*i) {
			t.Fatalf("frame %d at %d, want %d", i, v, 960*i)
		}
	}
}

// A pipeline passes LimitBand to an Opus encoder: 16 kHz PCM limited to
// 8000 comes out as narrowband Opus, and without the limit as wideband.
// Pipelines to other codecs take it and do nothing.
func TestChainLimitBand(t *testing.T) {
	for _, tt := range []struct{ limit, want int }{{8000, 8000}, {0, 16000}} {
		sink := &mediatest.Sink{}
		c := newChain(t, media.PCM16(16000), opusf, sink)
		if err := c.LimitBand(tt.limit); err != nil {
			t.Fatal(err)
		}
		for _, f := range mediatest.Frames(mediatest.Tone(16000, 700, -10, 8000), 16000) {
			if err := c.WriteFrame(f); err != nil {
				t.Fatal(err)
			}
		}
		for i, p := range sink.Payloads() {
			if band := mediatest.OpusBandwidth(p); band != tt.want {
				t.Fatalf("limit %d: packet %d is of the %d Hz band, want %d", tt.limit, i, band, tt.want)
			}
		}
	}
	if err := newChain(t, media.PCM16(16000), pcmu, &mediatest.Sink{}).LimitBand(8000); err != nil {
		t.Errorf("LimitBand on a PCMU pipeline: %v", err)
	}
}

func TestChainErrors(t *testing.T) {
	sink := media.WriterFunc(func(media.Frame) error { return nil })
	bad := []struct{ from, to media.Format }{
		{media.Format{Codec: "GSM", SampleRate: 8000}, pcmu},
		{pcmu, media.Format{Codec: "G729", SampleRate: 8000}},
		{media.Format{Codec: "PCMU", SampleRate: 16000}, pcma},
		{media.PCM16(44100), pcmu},
		{media.Format{Codec: "L16", SampleRate: 16000, Channels: 2}, pcmu},
		{pcmu, media.Format{Codec: "opus", SampleRate: 48000, Channels: 3}},
	}
	for _, tt := range bad {
		if _, err := Chain(tt.from, tt.to, sink); !errors.Is(err, ErrUnsupported) {
			t.Errorf("Chain(%v, %v) = %v, want ErrUnsupported", tt.from, tt.to, err)
		}
	}
	if _, err := (Config{}).Chain(media.Format{Codec: "OPUS", SampleRate: 48000}, pcmu, sink); err != nil && !errors.Is(err, opus.ErrUnavailable) {
		t.Errorf("codec names are case-insensitive: %v", err)
	}
	cfg := Config{}
	cfg.Opus.Bitrate = 1
	if _, err := cfg.Chain(pcmu, opusf, sink); err == nil {
		t.Error("Chain with an invalid Opus bitrate succeeded")
	}
	// An error from next comes back out.
	boom := errors.New("boom")
	c, _ := Chain(pcmu, pcma, media.WriterFunc(func(media.Frame) error { return boom }))
	if err := c.WriteFrame(media.Frame{Payload: []byte{1, 2}}); !errors.Is(err, boom) {
		t.Errorf("WriteFrame = %v, want %v", err, boom)
	}
}

func TestLookup(t *testing.T) {
	for _, tt := range []struct {
		name        string
		rate, clock int
		pt          int
	}{
		{"PCMU", 8000, 8000, 0}, {"pcma", 8000, 8000, 8}, {"G722", 16000, 8000, 9},
		{"opus", 48000, 48000, -1}, {"L16", 0, 0, -1},
	} {
		c, ok := Lookup(tt.name)
		if !ok || c.SampleRate != tt.rate || c.ClockRate != tt.clock || c.PayloadType != tt.pt {
			t.Errorf("Lookup(%q) = %+v, %v", tt.name, c, ok)
		}
	}
	if _, ok := Lookup("G729"); ok {
		t.Error("Lookup(G729) found a codec")
	}
	if n := len(Codecs()); n != 5 {
		t.Errorf("Codecs() has %d entries", n)
	}
	if f := (Codec{Name: "L16"}).Format(24000); f != media.PCM16(24000) {
		t.Errorf("L16 Format(24000) = %v", f)
	}
}
