package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/voxgate/voxgate/media"
	"github.com/voxgate/voxgate/transcode"
)

// rtcLeg is a WebRTC-style leg: a pion peer that joins the call's session
// as the agent over POST /v1/sessions/:id/webrtc, speaks the markers in
// Opus (in place of the subscriber) and hears the SIP side's speech.
type rtcLeg struct {
	pc    *webrtc.PeerConnection
	track *webrtc.TrackLocalStaticRTP
}

// rtcAPI builds pion's API for the legs: Opus only, loopback candidates only.
func rtcAPI() (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: opusCapability, PayloadType: 111}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se)), nil
}

var opusCapability = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}

// opusMarkers encodes one marker period: a 20 ms 1 kHz burst at -6 dBFS,
// then MarkerEvery-1 frames of silence, as Opus packets at 48 kHz.
func opusMarkers() ([][]byte, error) {
	var pkts [][]byte
	enc, err := transcode.Chain(media.PCM16(48000), media.Format{Codec: media.CodecOpus, SampleRate: 48000, Channels: 1},
		media.WriterFunc(func(f media.Frame) error {
			pkts = append(pkts, append([]byte(nil), f.Payload...))
			return nil
		}))
	if err != nil {
		return nil, err
	}
	tone, silence := markerTone(48000), make([]int16, 960)
	for n := range MarkerEvery {
		pcm := silence
		if n == 0 {
			pcm = tone
		}
		if err := enc.WriteFrame(media.Frame{Samples: pcm, Timestamp: uint32(n * 960)}); err != nil {
			return nil, err
		}
	}
	if len(pkts) != MarkerEvery {
		return nil, fmt.Errorf("opus: %d packets for %d frames", len(pkts), MarkerEvery)
	}
	return pkts, nil
}

// joinWebRTC connects the call's WebRTC leg to its session.
func (c *call) joinWebRTC(ctx context.Context) error {
	pc, err := c.g.rtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return err
	}
	leg := &rtcLeg{pc: pc}
	if leg.track, err = webrtc.NewTrackLocalStaticRTP(opusCapability, "audio", "loadgen"); err != nil {
		pc.Close()
		return err
	}
	if _, err := pc.AddTrack(leg.track); err != nil {
		pc.Close()
		return err
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { c.hearWebRTC(tr) })
	connected := make(chan struct{})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			close(connected)
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err == nil {
		gathered := webrtc.GatheringCompletePromise(pc)
		if err = pc.SetLocalDescription(offer); err == nil {
			<-gathered
		}
	}
	var answer struct {
		SDP string `json:"sdp"`
	}
	if err == nil {
		err = c.g.api.do(ctx, "POST", "/v1/sessions/"+c.id+"/webrtc",
			map[string]string{"type": "offer", "sdp": pc.LocalDescription().SDP, "speaker": "agent"}, &answer)
	}
	if err == nil {
		err = pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer.SDP})
	}
	if err == nil {
		select {
		case <-connected:
		case <-ctx.Done():
			err = errors.New("not connected")
		}
	}
	if err != nil {
		pc.Close()
		return fmt.Errorf("webrtc: %w", err)
	}
	c.rtc = leg
	return nil
}

// sendWebRTC plays the Opus markers every 20 ms until stopped.
func (c *call) sendWebRTC() {
	defer c.senders.Done()
	select { // as the subscriber does: once the SIP leg hears the session
	case <-c.p.heard:
	case <-c.stop:
		return
	case <-time.After(5 * time.Second):
	}
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: uint16(rand.Uint32()), Timestamp: rand.Uint32()}}
	tm := time.NewTimer(0)
	start := time.Now()
	for n := int64(0); ; n++ {
		if !c.sleepUntil(tm, start.Add(time.Duration(n)*20*time.Millisecond)) {
			return
		}
		pkt.Payload = c.g.opus[n%MarkerEvery]
		pkt.Marker = n == 0
		c.p.inputSent(n, time.Now())
		if err := c.rtc.track.WriteRTP(&pkt); err != nil {
			return
		}
		pkt.SequenceNumber++
		pkt.Timestamp += 960
	}
}

// hearWebRTC reads what the WebRTC leg hears (the SIP side's speech).
func (c *call) hearWebRTC(tr *webrtc.TrackRemote) {
	var now time.Time // the packet's arrival
	dec, err := transcode.Chain(media.Format{Codec: media.CodecOpus, SampleRate: 48000, Channels: 1}, media.PCM16(8000),
		media.WriterFunc(func(f media.Frame) error {
			c.p.opusHeard(f.Samples, now)
			return nil
		}))
	if err != nil {
		return
	}
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	for first := true; ; first = false {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		if now = time.Now(); first {
			close(c.rtcHeard)
		}
		if pkt.Unmarshal(buf[:n]) == nil {
			_ = dec.WriteFrame(media.Frame{Payload: pkt.Payload, Timestamp: pkt.Timestamp})
		}
	}
}
