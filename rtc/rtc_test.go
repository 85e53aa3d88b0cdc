package rtc_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	pmedia "github.com/pion/webrtc/v4/pkg/media"
	"go.uber.org/goleak"

	"github.com/voxgate/voxgate/media/mediatest"
	"github.com/voxgate/voxgate/rtc"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/store"
	"github.com/voxgate/voxgate/store/storetest"
	"github.com/voxgate/voxgate/transcode/opus"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type fixture struct {
	m   *session.Manager
	ep  *rtc.Endpoint
	sc  store.Scope
	ctx context.Context
}

func newFixture(t testing.TB) *fixture {
	st := storetest.OpenConfig(t, store.Config{DataDir: t.TempDir()})
	m, err := session.NewManager(session.Config{PublicURL: "http://127.0.0.1:8080", SIPHost: "127.0.0.1"}, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := rtc.NewEndpoint(rtc.Config{LoopbackOnly: true, ConnectTimeout: 10 * time.Second}, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return &fixture{m: m, ep: ep, sc: store.Scope{OrgID: "org_rtc", Livemode: true}, ctx: ctx}
}

// browser is a plain pion PeerConnection standing in for a browser: it sends
// a tone as Opus and decodes what it receives.
type browser struct {
	pc    *webrtc.PeerConnection
	track *webrtc.TrackLocalStaticSample
	mu    sync.Mutex
	heard []int16
	wg    sync.WaitGroup
}

func newBrowser(t testing.TB) *browser {
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", "browser")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(track); err != nil {
		t.Fatal(err)
	}
	b := &browser{pc: pc, track: track}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			dec, err := opus.NewDecoder(16000)
			if err != nil {
				return
			}
			pcm := make([]int16, 16000*120/1000)
			for {
				pkt, _, err := tr.ReadRTP()
				if err != nil {
					return
				}
				n, err := dec.Decode(pkt.Payload, pcm)
				if err != nil {
					continue
				}
				b.mu.Lock()
				b.heard = append(b.heard, pcm[:n]...)
				b.mu.Unlock()
			}
		}()
	})
	t.Cleanup(func() { pc.Close(); b.wg.Wait() })
	return b
}

func (b *browser) offer(t testing.TB) string {
	offer, err := b.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(b.pc)
	if err := b.pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	return b.pc.LocalDescription().SDP
}

// sendTone plays a tone into the connection in real time until stop closes.
func (b *browser) sendTone(t *testing.T, freq float64, stop <-chan struct{}) {
	enc, err := opus.NewEncoder(opus.EncoderConfig{SampleRate: 48000})
	if err != nil {
		t.Error(err)
		return
	}
	sine := mediatest.NewSine(48000, freq, -10)
	pcm := make([]int16, 960)
	data := make([]byte, opus.MaxPacketSize)
	tk := time.NewTicker(20 * time.Millisecond)
	defer tk.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tk.C:
		}
		sine.Read(pcm)
		n, err := enc.Encode(pcm, data)
		if err != nil {
			t.Error(err)
			return
		}
		if err := b.track.WriteSample(pmedia.Sample{Data: data[:n], Duration: 20 * time.Millisecond}); err != nil {
			return
		}
	}
}

func (b *browser) heardSoFar() []int16 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]int16(nil), b.heard...)
}

func TestBrowserTalksToASubscriber(t *testing.T) {
	f := newFixture(t)
	s, err := f.m.Create(f.ctx, f.sc, session.CreateParams{Mode: "media_stream"})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := f.m.Subscribe(f.ctx, s.ID, session.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	b := newBrowser(t)
	answer, callID, err := f.ep.Answer(f.ctx, f.sc, s.ID, b.offer(t), "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(answer, "typ host") || !strings.Contains(answer, "opus/48000") {
		t.Fatalf("answer lacks candidates or opus:\n%s", answer)
	}
	if err := b.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); b.sendTone(t, 1000, stop) }()
	defer func() { close(stop); <-done }()

	// The browser is the agent (no other leg); its tone reaches the subscriber.
	var pcm []int16
	var fr session.AudioFrame
	deadline := time.After(20 * time.Second)
	for len(pcm) < session.Rate { // one second
		for sub.NextAudio(&fr) {
			if fr.Speaker == session.SpeakerAgent {
				pcm = append(pcm, fr.Samples...)
			}
		}
		select {
		case <-sub.AudioReady():
		case <-deadline:
			t.Fatalf("subscriber got %d samples from the browser", len(pcm))
		}
	}
	mediatest.CheckTone(t, pcm[session.Rate/2:], session.Rate, mediatest.ToneWant{Freq: 1000, Level: -10, MinSNR: 20})

	// A customer's audio from the stream reaches the browser.
	if err := sub.Input(session.SpeakerCustomer, mediatest.Tone(session.Rate, 600, -10, 2*session.Rate)); err != nil {
		t.Fatal(err)
	}
	deadline = time.After(20 * time.Second)
	for {
		heard := b.heardSoFar()
		if len(heard) > 16000*3/2 {
			if lvl := mediatest.Level(heard[len(heard)-16000/2:], 16000, 600); lvl > -14 {
				break
			}
		}
		select {
		case <-deadline:
			t.Fatalf("browser did not hear the 600 Hz tone (%d samples)", len(b.heardSoFar()))
		case <-time.After(100 * time.Millisecond):
		}
	}
	c, err := f.m.GetCall(f.ctx, f.sc, callID)
	if err != nil || c.Status != session.CallAnswered || c.Transport != "webrtc" || c.Codec != "opus" {
		t.Fatalf("call: %+v %v", c, err)
	}
	// The browser hangs up: the call ends, and with it the session.
	b.pc.Close()
	waitFor(t, func() bool {
		c, _ := f.m.GetCall(f.ctx, f.sc, callID)
		return c.Status == session.CallEnded
	})
	ended, _ := f.m.Get(f.ctx, f.sc, s.ID)
	waitFor(t, func() bool { ended, _ = f.m.Get(f.ctx, f.sc, s.ID); return ended.Ended() })
	if *ended.EndReason != session.EndCallsEnded {
		t.Fatalf("session ended with %v", *ended.EndReason)
	}
}

func TestBadOffers(t *testing.T) {
	f := newFixture(t)
	s, _ := f.m.Create(f.ctx, f.sc, session.CreateParams{Mode: "media_stream"})
	var inv *session.InvalidError
	_, _, err := f.ep.Answer(f.ctx, f.sc, s.ID, "this is not sdp", "")
	if !errors.As(err, &inv) || inv.Code != "invalid_sdp" {
		t.Fatalf("garbage: %v", err)
	}
	noAudio := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:96 VP8/90000\r\n"
	if _, _, err := f.ep.Answer(f.ctx, f.sc, s.ID, noAudio, ""); !errors.As(err, &inv) || inv.Code != "no_audio" {
		t.Fatalf("no audio: %v", err)
	}
	b := newBrowser(t)
	if _, _, err := f.ep.Answer(f.ctx, f.sc, s.ID, b.offer(t), "robot"); !errors.As(err, &inv) || inv.Param != "speaker" {
		t.Fatalf("bad speaker: %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 1000 {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("condition not reached in 20 s")
}

// TestTwoBrowsersHearEachOther puts two browsers in one session, one per
// side: each hears the other's tone and not its own.
func TestTwoBrowsersHearEachOther(t *testing.T) {
	f := newFixture(t)
	s, err := f.m.Create(f.ctx, f.sc, session.CreateParams{Mode: "media_stream"})
	if err != nil {
		t.Fatal(err)
	}
	defer f.m.End(context.Background(), f.sc, s.ID, session.EndExplicit)
	join := func(speaker string, freq float64) (*browser, func()) {
		b := newBrowser(t)
		answer, _, err := f.ep.Answer(f.ctx, f.sc, s.ID, b.offer(t), speaker)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
			t.Fatal(err)
		}
		stop, done := make(chan struct{}), make(chan struct{})
		go func() { defer close(done); b.sendTone(t, freq, stop) }()
		return b, func() { close(stop); <-done }
	}
	customer, stopC := join("customer", 500)
	defer stopC()
	agent, stopA := join("agent", 1200)
	defer stopA()
	deadline := time.After(20 * time.Second)
	for {
		hc, ha := customer.heardSoFar(), agent.heardSoFar()
		if len(hc) > 16000 && len(ha) > 16000 &&
			mediatest.Level(hc[len(hc)-8000:], 16000, 1200) > -16 && mediatest.Level(ha[len(ha)-8000:], 16000, 500) > -16 {
			if mediatest.Level(hc[len(hc)-8000:], 16000, 500) > -40 || mediatest.Level(ha[len(ha)-8000:], 16000, 1200) > -40 {
				t.Fatal("a browser hears itself")
			}
			return
		}
		select {
		case <-deadline:
			t.Fatalf("customer heard %d samples, agent %d", len(hc), len(ha))
		case <-time.After(100 * time.Millisecond):
		}
	}
}
