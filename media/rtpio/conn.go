// Package rtpio carries one leg's RTP over one UDP socket: packetizing and
// depacketizing frames, symmetric RTP (the remote address is latched from
// the first valid packet), sequence and SSRC tracking, a reorder window,
// RFC 4733 DTMF both ways, RTCP reports, media timeout, and statistics kept
// in atomics. It never logs. On Linux a stream has no goroutine of its own:
// its sockets are read by pollers shared with every other stream (one per
// core, see udpSocket).
package rtpio

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"github.com/voxgate/voxgate/media"
)

// Config describes one RTP stream. ClockRate and PayloadType come from the
// negotiated codec (G.722 has an 8000 Hz clock for 16 kHz audio).
type Config struct {
	// Local is the address to listen on; port 0 picks one (or the range).
	Local string
	// PortMin and PortMax, when set, bound the local port (Local's port must be 0).
	PortMin, PortMax int
	// Remote is where to send until RTP arrives from the peer (from SDP).
	Remote netip.AddrPort
	// PayloadType and ClockRate of the audio codec.
	PayloadType uint8
	ClockRate   int
	// FrameSamples is the RTP timestamp step per frame (ClockRate/50 for 20 ms).
	FrameSamples uint32
	// DTMFPayloadType of telephone-event (0: none) at DTMFClockRate (default 8000).
	DTMFPayloadType uint8
	DTMFClockRate   int
	// OnDTMF receives each digit from the peer, once per event.
	// It runs on the goroutine that receives the stream's datagrams (a
	// poller shared with other streams) and must not block.
	OnDTMF func(digit byte)
	// MediaTimeout ends the stream when no RTP arrives for this long while
	// not on hold. Default 30s; negative disables it.
	MediaTimeout time.Duration
	// RTCPInterval between reports. Default 5s. RTCP is multiplexed on the
	// RTP port (rtcp-mux) when RTCPMux is set, else sent to port+1.
	RTCPInterval time.Duration
	RTCPMux      bool
	// RelatchAfter lets a new source take over after the latched one has
	// been silent this long (0: never; the first source keeps the stream).
	RelatchAfter time.Duration
	// Window is the reorder window in packets (default 3).
	Window int
}

func (c *Config) setDefaults() {
	if c.MediaTimeout == 0 {
		c.MediaTimeout = 30 * time.Second
	}
	if c.RTCPInterval == 0 {
		c.RTCPInterval = 5 * time.Second
	}
	if c.DTMFClockRate == 0 {
		c.DTMFClockRate = 8000
	}
	if c.FrameSamples == 0 {
		c.FrameSamples = uint32(c.ClockRate / 50)
	}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.ClockRate <= 0 {
		return errors.New("rtpio: clock rate must be positive")
	}
	if c.PayloadType > 127 || c.DTMFPayloadType > 127 {
		return errors.New("rtpio: payload types are 0-127")
	}
	if c.PortMin < 0 || c.PortMax > 65535 || c.PortMin > c.PortMax {
		return errors.New("rtpio: bad port range")
	}
	return nil
}

// Stats is a snapshot of a stream's counters.
type Stats struct {
	// PacketsIn and BytesIn count accepted RTP (audio and DTMF, duplicates
	// included); PacketsOut and BytesOut what was sent.
	PacketsIn, BytesIn, PacketsOut, BytesOut uint64
	// Lost counts gaps handed out as Missing frames; Late, packets that came
	// after their gap went out; Duplicates, repeats of one of the last 64;
	// Dropped, frames discarded because ReadFrame fell handoff (16) frames behind.
	Lost, Late, Duplicates, Dropped uint64
	// SSRCChanges counts new sources; Strays, RTP from other addresses
	// after the latch; Invalid, datagrams that were not usable RTP/RTCP.
	SSRCChanges, Strays, Invalid uint64
	// RTCPIn counts RTCP packets (each part of a compound one); Byes, BYEs.
	RTCPIn, Byes uint64
	// Jitter is the interarrival jitter (RFC 3550 §6.4.1).
	Jitter time.Duration
}

// Conn is an RTP stream on one UDP socket. ReadFrame and WriteFrame make it
// a media.Reader and media.Writer of encoded frames.
type Conn struct {
	cfg  Config
	sock *udpSocket
	rtcp *udpSocket // nil with rtcp-mux

	rx     *media.Handoff // received frames, in order, for ReadFrame or Deliver's writer
	done   chan struct{}
	once   sync.Once
	err    error
	ending media.EndNotice // calls OnEnd's function

	remote atomic.Pointer[netip.AddrPort] // where to send: latched or from SDP
	codec  atomic.Pointer[codec]          // payload type and clocks; SetCodec may change it
	held   atomic.Bool
	srtp   atomic.Pointer[srtpPair] // nil: plain RTP
	last   atomic.Int64             // unix nanos of the last RTP from the peer

	// send state (one writer at a time)
	wmu     sync.Mutex
	ssrc    uint32
	seq     uint16
	ts      uint32
	marker  bool
	wbuf    []byte
	ebuf    []byte // wbuf encrypted, with SRTP (made when first needed)
	pkt     rtp.Packet
	sentPkt atomic.Uint64

	// receive state (owned by the socket's handler)
	rxPkt     rtp.Packet
	rxSSRC    uint32
	rxStarted bool
	latched   bool
	window    media.ReorderWindow
	dtmf      media.DTMFReceiver
	dtmfSSRC  uint32
	arrival   int64   // arrival of the last packet, in clock units
	lastTS    uint32  // its RTP timestamp
	jitter    float64 // in clock units
	highest   uint16
	seen      uint64     // bit i: highest-i was received (duplicate detection)
	emittedTS uint32     // timestamp of the last frame handed out
	frameStep uint32     // timestamp step of a frame, for gaps
	emitFn    media.Emit // c.emit, made once

	hk housekeeper

	// the peer's last sender report (middle 32 bits of its NTP time) and
	// when it came, for reception reports; written by either read loop
	lastSR   atomic.Uint32
	lastSRAt atomic.Int64

	stats struct {
		packetsIn, bytesIn, packetsOut, bytesOut             atomic.Uint64
		lost, late, dups, ssrcChanges, strays, rtcpIn, inval atomic.Uint64
		byes, dropped                                        atomic.Uint64
		jitterNanos                                          atomic.Int64
		rxSSRC, highest                                      atomic.Uint32 // for RTCP reports
	}
}

// codec is the audio payload format of the stream.
type codec struct {
	payloadType  uint8
	clockRate    int
	frameSamples uint32
}

// SetCodec changes the audio payload type and clock (an outbound call
// learns them from the answer after the socket was opened for the offer).
func (c *Conn) SetCodec(payloadType uint8, clockRate int) {
	c.codec.Store(&codec{payloadType: payloadType, clockRate: clockRate, frameSamples: uint32(clockRate / 50)})
}

// handoff is how many received frames wait for ReadFrame before the newest
// are dropped.
const handoff = 16

// Listen opens the socket and starts receiving.
func Listen(cfg Config) (*Conn, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	sock, rtcpSock, err := listen(cfg)
	if err != nil {
		return nil, err
	}
	c := &Conn{cfg: cfg, sock: sock, rtcp: rtcpSock, rx: media.NewHandoff(handoff), done: make(chan struct{}), wbuf: make([]byte, 1500), marker: true}
	c.window.Window = cfg.Window
	c.codec.Store(&codec{payloadType: cfg.PayloadType, clockRate: cfg.ClockRate, frameSamples: cfg.FrameSamples})
	var b [8]byte
	_, _ = rand.Read(b[:])
	c.ssrc, c.seq, c.ts = binary.BigEndian.Uint32(b[:]), binary.BigEndian.Uint16(b[4:]), 0
	if cfg.Remote.IsValid() {
		r := cfg.Remote
		c.remote.Store(&r)
	}
	c.last.Store(time.Now().UnixNano())
	err = c.sock.receive(c.decrypting(func(b []byte, from netip.AddrPort) { c.receive(b, from) }))
	if err == nil && c.rtcp != nil {
		err = c.rtcp.receive(c.decrypting(func(b []byte, _ netip.AddrPort) { c.receiveRTCP(b) }))
	}
	if err != nil {
		c.end(err)
		return nil, err
	}
	c.startHousekeeping()
	return c, nil
}

// listen opens the RTP socket and, without rtcp-mux, the RTCP one on the
// next port. In a port range both must be free (an even RTP port, by
// convention); on a given port RTCP is best effort and may be nil.
func listen(cfg Config) (sock, rtcpSock *udpSocket, err error) {
	addr, err := net.ResolveUDPAddr("udp", cfg.Local)
	if err != nil {
		return nil, nil, fmt.Errorf("rtpio: local address: %w", err)
	}
	if cfg.PortMax == 0 || addr.Port != 0 {
		if sock, err = listenUDP(addr); err != nil {
			return nil, nil, err
		}
		if !cfg.RTCPMux {
			rtcpSock, _ = listenNext(sock)
		}
		return sock, rtcpSock, nil
	}
	first := cfg.PortMin + cfg.PortMin%2
	last := cfg.PortMax
	if !cfg.RTCPMux {
		last-- // room for port+1
	}
	span := (last - first) / 2
	var b [2]byte
	_, _ = rand.Read(b[:])
	start := int(binary.BigEndian.Uint16(b[:]))
	for i := 0; first <= last && i <= span; i++ {
		addr.Port = first + ((start+i)%(span+1))*2
		if sock, err = listenUDP(addr); err != nil {
			continue
		}
		if cfg.RTCPMux {
			return sock, nil, nil
		}
		if rtcpSock, err = listenNext(sock); err == nil {
			return sock, rtcpSock, nil
		}
		_ = sock.Close()
	}
	return nil, nil, fmt.Errorf("rtpio: no free port in %d-%d", cfg.PortMin, cfg.PortMax)
}

// listenNext opens the port after sock's, on the same address, for RTCP.
func listenNext(sock *udpSocket) (*udpSocket, error) {
	local := sock.LocalAddr()
	return listenUDP(&net.UDPAddr{IP: local.Addr().AsSlice(), Port: int(local.Port()) + 1})
}

// LocalAddr is the address RTP is received on (for SDP).
func (c *Conn) LocalAddr() netip.AddrPort { return c.sock.LocalAddr() }

// SetRemote sets where to send (from SDP), until RTP from the peer latches.
func (c *Conn) SetRemote(r netip.AddrPort) { c.remote.Store(&r) }

// Remote returns where packets go now.
func (c *Conn) Remote() netip.AddrPort {
	if r := c.remote.Load(); r != nil {
		return *r
	}
	return netip.AddrPort{}
}

// Hold pauses (true) or resumes the media timeout, for a call on hold.
func (c *Conn) Hold(on bool) {
	c.held.Store(on)
	if !on {
		c.last.Store(time.Now().UnixNano())
	}
}

// Done is closed when the stream ended; Err says why.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err is ErrMediaTimeout, ErrClosed or nil while the stream runs.
func (c *Conn) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// OnEnd has f called once, on a goroutine of its own, with the stream's
// error (as Err gives it) when the stream ends, or at once if it has: a
// consumer needs no goroutine waiting on Done. A stream keeps one f; a
// later OnEnd replaces it.
func (c *Conn) OnEnd(f func(err error)) {
	c.ending.Notify(func() { go f(c.err) })
}

func (c *Conn) end(err error) {
	c.once.Do(func() {
		c.err = err
		close(c.done)
		_ = c.sock.Close()
		if c.rtcp != nil {
			_ = c.rtcp.Close()
		}
		c.ending.End()
	})
}

// Close ends the stream, once a frame being received has been handed on
// (none is after it); it is idempotent.
func (c *Conn) Close() error {
	c.end(ErrClosed)
	c.stopHousekeeping()
	return nil
}

// Deliver hands every frame received from now on to w.WriteFrame, on the
// goroutine that receives them, instead of keeping it for ReadFrame (frames
// already waiting go first): a consumer that does not block then needs no
// goroutine of its own to read, and no handoff per frame. w must not block
// or close c; f.Payload is valid only during the call. Deliver is called at
// most once, and ReadFrame not after it.
func (c *Conn) Deliver(w media.Writer) { c.rx.Deliver(w) }

// ReadFrame returns the next received frame in order; gaps come as Missing
// frames. f.Payload is overwritten (reusing its capacity); f.Timestamp is
// the packet's RTP timestamp (a gap's is one frame after the frame before).
func (c *Conn) ReadFrame(f *media.Frame) error {
	if !c.rx.Read(f, c.done) {
		return c.err
	}
	return nil
}

// WriteFrame sends one encoded frame; an empty payload sends nothing but
// advances the timestamp (silence suppression). It never blocks on the
// network.
func (c *Conn) WriteFrame(f media.Frame) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	cd := c.codec.Load()
	ts := c.ts
	c.ts += cd.frameSamples
	if len(f.Payload) == 0 {
		c.marker = true
		return nil
	}
	err := c.send(cd.payloadType, c.marker, ts, f.Payload)
	c.marker = false
	return err
}

// send writes one RTP packet (wmu held).
func (c *Conn) send(pt uint8, marker bool, ts uint32, payload []byte) error {
	remote := c.remote.Load()
	if remote == nil {
		return ErrNoRemote
	}
	c.pkt.Header = rtp.Header{Version: 2, Marker: marker, PayloadType: pt, SequenceNumber: c.seq, Timestamp: ts, SSRC: c.ssrc}
	c.pkt.Payload = payload
	n, err := c.pkt.MarshalTo(c.wbuf)
	if err != nil {
		return err
	}
	c.seq++
	out := c.wbuf[:n]
	if p := c.srtp.Load(); p != nil {
		if c.ebuf == nil {
			c.ebuf = make([]byte, 1500+16)
		}
		if out, err = p.protectRTP(c.ebuf, out, &c.pkt.Header); err != nil {
			return err
		}
	}
	if err := c.sock.WriteTo(out, *remote); err != nil {
		select {
		case <-c.done:
			return ErrClosed
		default:
		}
		return err
	}
	c.stats.packetsOut.Add(1)
	c.stats.bytesOut.Add(uint64(n))
	c.sentPkt.Add(1)
	return nil
}

// SendDTMF sends digits as RFC 4733 events, pacing the packets 20 ms apart
// (it returns when they are all sent).
func (c *Conn) SendDTMF(digits string) error {
	if c.cfg.DTMFPayloadType == 0 {
		return errors.New("rtpio: the peer did not negotiate telephone-event")
	}
	pkts, err := media.GenerateDTMF(digits, c.cfg.DTMFClockRate, 10)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	base := c.ts
	c.wmu.Unlock()
	start := time.Now()
	for _, p := range pkts {
		if wait := time.Until(start.Add(time.Duration(p.Step) * 20 * time.Millisecond)); wait > 0 {
			select {
			case <-time.After(wait):
			case <-c.done:
				return ErrClosed
			}
		}
		c.wmu.Lock()
		err := c.send(c.cfg.DTMFPayloadType, p.Marker, base+p.TimestampOffset, p.Payload[:])
		c.wmu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

// Stats returns a snapshot of the counters.
func (c *Conn) Stats() Stats {
	return Stats{
		PacketsIn: c.stats.packetsIn.Load(), BytesIn: c.stats.bytesIn.Load(),
		PacketsOut: c.stats.packetsOut.Load(), BytesOut: c.stats.bytesOut.Load(),
		Lost: c.stats.lost.Load(), Late: c.stats.late.Load(), Duplicates: c.stats.dups.Load(),
		SSRCChanges: c.stats.ssrcChanges.Load(), Strays: c.stats.strays.Load(), RTCPIn: c.stats.rtcpIn.Load(),
		Byes: c.stats.byes.Load(), Dropped: c.stats.dropped.Load(), Invalid: c.stats.inval.Load(), Jitter: time.Duration(c.stats.jitterNanos.Load()),
	}
}

// String names the stage.
func (c *Conn) String() string {
	return fmt.Sprintf("RTP(%d, %s)", c.codec.Load().clockRate, c.LocalAddr())
}
