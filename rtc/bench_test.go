package rtc_test

import (
	"context"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	pmedia "github.com/pion/webrtc/v4/pkg/media"

	"github.com/voxgate/voxgate/media"
	"github.com/voxgate/voxgate/media/mediatest"
	"github.com/voxgate/voxgate/rtc"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/transcode"
	"github.com/voxgate/voxgate/transcode/opus"
)

// BenchmarkPeerFrame measures what one WebRTC leg costs the gateway per
// 20 ms frame: the browser's Opus decoded into the session (48 kHz Opus →
// 16 kHz PCM), the session's mix encoded back (16 kHz PCM → Opus) and sent
// over DTLS-SRTP to a connected pion peer on loopback. peers/core is how many
// such legs one core carries in real time.
func BenchmarkPeerFrame(b *testing.B) {
	f := newFixture(b)
	br := newBrowser(b)
	s, err := f.m.Create(f.ctx, f.sc, session.CreateParams{Mode: "media_stream"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _, _ = f.m.End(context.Background(), f.sc, s.ID, session.EndExplicit) })
	answer, _, err := f.ep.Answer(f.ctx, f.sc, s.ID, br.offer(b), "")
	if err != nil {
		b.Fatal(err)
	}
	if err := br.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		b.Fatal(err)
	}
	connected := make(chan struct{})
	br.pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateConnected {
			close(connected)
		}
	})
	select {
	case <-connected:
	case <-time.After(20 * time.Second):
		b.Fatal("no connection")
	}
	pcm := media.PCM16(session.Rate)
	var decoded int
	decode, err := transcode.Chain(rtc.Format, pcm, media.WriterFunc(func(fr media.Frame) error { decoded += len(fr.Samples); return nil }))
	if err != nil {
		b.Fatal(err)
	}
	var packet []byte
	encode, err := transcode.Chain(pcm, rtc.Format, media.WriterFunc(func(fr media.Frame) error { packet = fr.Payload; return nil }))
	if err != nil {
		b.Fatal(err)
	}
	enc, _ := opus.NewEncoder(opus.EncoderConfig{SampleRate: 48000})
	in := make([]byte, opus.MaxPacketSize)
	n, _ := enc.Encode(mediatest.Tone(48000, 1000, -10, 960), in)
	in = in[:n]
	mix := mediatest.Tone(session.Rate, 600, -10, session.FrameSamples)
	b.ReportAllocs()
	for b.Loop() {
		_ = decode.WriteFrame(media.Frame{Payload: in})
		_ = encode.WriteFrame(media.Frame{Samples: mix})
		_ = br.track.WriteSample(pmedia.Sample{Data: packet, Duration: 20 * time.Millisecond})
	}
	perFrame := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(0.020/perFrame, "peers/core")
	if decoded == 0 {
		b.Fatal("nothing decoded")
	}
}
