package rtc

import (
	"sync"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	pmedia "github.com/pion/webrtc/v4/pkg/media"
	"go.uber.org/zap"

	"github.com/voxgate/voxgate/media"
	"github.com/voxgate/voxgate/session"
)

// Peer is a browser's WebRTC connection as a session leg: Opus at 48 kHz
// both ways.
type Peer struct {
	pc      *webrtc.PeerConnection
	track   *webrtc.TrackLocalStaticSample
	speaker session.Speaker
	callID  string
	log     *zap.Logger

	frames    chan packet // received Opus payloads, in order
	connected chan struct{}
	connOnce  sync.Once
	done      chan struct{}
	closeOnce sync.Once
	cause     error // set before done closes
	wg        sync.WaitGroup
}

// packet is one received frame: a payload, or a gap to conceal.
type packet struct {
	buf     [1500]byte
	n       int
	missing bool
}

// maxGap is the most frames of loss a gap is concealed for; longer silences
// are not filled in.
const maxGap = 5

// Format is the leg's audio: Opus, 48 kHz, mono.
var Format = media.Format{Codec: media.CodecOpus, SampleRate: 48000, Channels: 1}

func newPeer(pc *webrtc.PeerConnection, spk session.Speaker) (*Peer, error) {
	track, err := webrtc.NewTrackLocalStaticSample(opusCodec, "audio", "voxgate")
	if err != nil {
		return nil, err
	}
	sender, err := pc.AddTrack(track)
	if err != nil {
		return nil, err
	}
	p := &Peer{
		pc: pc, track: track, speaker: spk, log: zap.NewNop(),
		frames: make(chan packet, 50), connected: make(chan struct{}), done: make(chan struct{}),
	}
	p.wg.Add(1)
	go func() { // RTCP from the browser feeds pion's interceptors (reports)
		defer p.wg.Done()
		buf := make([]byte, 1500)
		for {
			if _, _, err := sender.Read(buf); err != nil {
				return
			}
		}
	}()
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if t.Kind() != webrtc.RTPCodecTypeAudio {
			return
		}
		p.wg.Add(1)
		go p.receive(t)
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			p.connOnce.Do(func() { close(p.connected) })
		case webrtc.PeerConnectionStateFailed:
			p.Close(ErrICEFailed)
		case webrtc.PeerConnectionStateClosed:
			p.Close(ErrPeerClosed)
		}
	})
	return p, nil
}

// receive reads the browser's audio, marking gaps for concealment.
func (p *Peer) receive(t *webrtc.TrackRemote) {
	defer p.wg.Done()
	var (
		buf     [1500]byte
		pkt     rtp.Packet
		lastSeq uint16
		started bool
	)
	for {
		n, _, err := t.Read(buf[:])
		if err != nil {
			return
		}
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		if started {
			gap := pkt.SequenceNumber - lastSeq
			if gap == 0 || gap > 0x8000 { // duplicate or late: drop
				continue
			}
			for i := uint16(1); i < gap && i <= maxGap; i++ {
				if !p.deliver(packet{missing: true}) {
					return
				}
			}
		}
		started, lastSeq = true, pkt.SequenceNumber
		var out packet
		out.n = copy(out.buf[:], pkt.Payload)
		if !p.deliver(out) {
			return
		}
	}
}

func (p *Peer) deliver(pk packet) bool {
	select {
	case p.frames <- pk:
		return true
	case <-p.done:
		return false
	default: // the session is not reading: drop rather than stall the network
		return true
	}
}

// CallID names the leg.
func (p *Peer) CallID() string { return p.callID }

// Speaker is the side the browser speaks for.
func (p *Peer) Speaker() session.Speaker { return p.speaker }

// Format is Opus at 48 kHz.
func (p *Peer) Format() media.Format { return Format }

// ReadFrame returns the browser's next frame; a Missing frame for each lost one.
func (p *Peer) ReadFrame(f *media.Frame) error {
	select {
	case pk := <-p.frames:
		f.Missing = pk.missing
		f.Payload = append(f.Payload[:0], pk.buf[:pk.n]...)
		f.Samples = nil
		return nil
	case <-p.done:
		return p.cause
	}
}

// WriteFrame sends an Opus frame to the browser.
func (p *Peer) WriteFrame(f media.Frame) error {
	if len(f.Payload) == 0 {
		return nil
	}
	return p.track.WriteSample(pmedia.Sample{Data: f.Payload, Duration: media.FrameDuration})
}

// Close ends the peer with a cause; it is idempotent.
func (p *Peer) Close(cause error) error {
	p.closeOnce.Do(func() {
		p.cause = cause
		close(p.done)
		go p.shutdown()
	})
	return nil
}

// shutdown closes the connection and waits for the peer's goroutines.
func (p *Peer) shutdown() {
	_ = p.pc.Close()
	p.wg.Wait()
}

// String names the leg in a pipeline.
func (p *Peer) String() string { return "WebRTC(" + p.callID + ", opus/48000)" }
