package rtpio

import (
	"net/netip"
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/voxgate/voxgate/media"
)

// decrypting wraps a socket's handler: an SRTP stream's datagrams reach it
// decrypted (into a buffer of the socket's, made when first needed), and
// those that do not decrypt are counted as invalid.
func (c *Conn) decrypting(handle func(b []byte, from netip.AddrPort)) func(b []byte, from netip.AddrPort) {
	var clear []byte
	return func(b []byte, from netip.AddrPort) {
		b, err := c.decrypt(&clear, b)
		if err != nil {
			c.stats.inval.Add(1)
			return
		}
		handle(b, from)
	}
}

// decrypt returns a received datagram decrypted into *clear (made when
// first needed) on an SRTP stream, as it is otherwise.
func (c *Conn) decrypt(clear *[]byte, b []byte) ([]byte, error) {
	p := c.srtp.Load()
	if p == nil {
		return b, nil
	}
	if *clear == nil {
		*clear = make([]byte, 1500)
	}
	return p.unprotect(*clear, b)
}

// IsRTCP tells RTCP from RTP on a multiplexed port (RFC 5761: payload
// types 64-95 in the second byte's low seven bits are RTCP).
func IsRTCP(b []byte) bool { return len(b) >= 2 && b[1]&0x7f >= 64 && b[1]&0x7f <= 95 }

// receive handles one datagram from the network.
func (c *Conn) receive(b []byte, from netip.AddrPort) {
	pkt := &c.rxPkt
	if IsRTCP(b) {
		c.receiveRTCP(b)
		return
	}
	if pkt.Unmarshal(b) != nil || pkt.Version != 2 {
		c.stats.inval.Add(1)
		return
	}
	cd := c.codec.Load()
	dtmf := c.cfg.DTMFPayloadType != 0 && pkt.PayloadType == c.cfg.DTMFPayloadType
	if pkt.PayloadType != cd.payloadType && !dtmf {
		c.stats.inval.Add(1)
		return
	}
	if !c.latch(from) {
		c.stats.strays.Add(1)
		return
	}
	now := time.Now()
	c.last.Store(now.UnixNano())
	c.stats.packetsIn.Add(1)
	c.stats.bytesIn.Add(uint64(len(b)))
	if dtmf {
		if pkt.SSRC != c.dtmfSSRC { // events of a new source start afresh
			c.dtmfSSRC, c.dtmf = pkt.SSRC, media.DTMFReceiver{}
		}
		if d, ok := c.dtmf.Push(pkt.Timestamp, pkt.Payload); ok && c.cfg.OnDTMF != nil {
			c.cfg.OnDTMF(d)
		}
		if c.rxStarted && pkt.SSRC == c.rxSSRC { // its sequence number is no audio gap
			c.window.Skip(pkt.SequenceNumber, c.emitter())
		}
		return
	}
	if c.rxStarted && pkt.SSRC != c.rxSSRC {
		// A new source (a transfer, a restart): start its sequence afresh.
		c.stats.ssrcChanges.Add(1)
		c.rxStarted = false
		c.window.Reset(c.emitter())
	}
	if !c.track(pkt, now, cd.clockRate) {
		c.stats.dups.Add(1)
		return
	}
	c.frameStep = cd.frameSamples
	if !c.window.Push(pkt.SequenceNumber, pkt.Timestamp, pkt.Payload, c.emitter()) {
		c.stats.late.Add(1)
	}
}

// emitter returns c.emit as a func value made once, so that the hot path
// allocates nothing.
func (c *Conn) emitter() media.Emit {
	if c.emitFn == nil {
		c.emitFn = c.emit
	}
	return c.emitFn
}

// emit hands one frame (or a gap) from the reorder window on (ReadFrame or
// Deliver's writer). A
// gap gets the timestamp one frame after the frame before it; so does the
// place of a telephone-event in the audio's numbering, handed out as a
// missing frame (concealed downstream, keeping the 20 ms cadence) but not
// counted as lost.
func (c *Conn) emit(payload []byte, ts uint32, missing bool) {
	if payload == nil {
		ts = c.emittedTS + c.frameStep
		if missing {
			c.stats.lost.Add(1)
		}
		missing = true
	}
	c.emittedTS = ts
	if !c.rx.Put(media.Frame{Payload: payload, Timestamp: ts, Missing: missing}) {
		c.stats.dropped.Add(1)
	}
}

// latch admits the first valid source and, after that, only it (or a new
// one once the latched source has been silent for RelatchAfter).
func (c *Conn) latch(from netip.AddrPort) bool {
	if c.latched {
		if cur := c.remote.Load(); cur != nil && *cur == from {
			return true
		}
		silent := time.Since(time.Unix(0, c.last.Load()))
		if c.cfg.RelatchAfter <= 0 || silent < c.cfg.RelatchAfter {
			return false
		}
	}
	c.latched = true
	latched := from // a copy, so that from itself does not escape on every packet
	c.remote.Store(&latched)
	return true
}

// track updates the sequence and jitter statistics (RFC 3550 A.8) and
// reports false for a duplicate of one of the last 64 packets. A timestamp
// jump of more than a second against the arrival times (a sender that
// restarted its clock) is left out of the jitter.
func (c *Conn) track(pkt *rtp.Packet, now time.Time, clockRate int) bool {
	arrival := now.UnixNano() * int64(clockRate) / int64(time.Second)
	if !c.rxStarted {
		c.rxStarted, c.rxSSRC, c.highest, c.seen = true, pkt.SSRC, pkt.SequenceNumber, 1
		c.arrival, c.lastTS = arrival, pkt.Timestamp
		c.stats.rxSSRC.Store(pkt.SSRC)
		c.stats.highest.Store(uint32(c.highest))
		return true
	}
	switch diff := int(int16(pkt.SequenceNumber - c.highest)); {
	case diff > 0:
		c.seen = c.seen<<diff | 1 // a shift of 64 or more clears it
		c.highest = pkt.SequenceNumber
		c.stats.highest.Store(uint32(c.highest))
	case -diff < 64 && c.seen&(1<<-diff) != 0:
		return false
	case -diff < 64:
		c.seen |= 1 << -diff
	}
	d := arrival - c.arrival - int64(int32(pkt.Timestamp-c.lastTS))
	c.arrival, c.lastTS = arrival, pkt.Timestamp
	if d < 0 {
		d = -d
	}
	if d <= int64(clockRate) {
		c.jitter += (float64(d) - c.jitter) / 16
		c.stats.jitterNanos.Store(int64(c.jitter / float64(clockRate) * float64(time.Second)))
	}
	return true
}

// receiveRTCP counts a compound RTCP packet, keeps the peer's last sender
// report for our reception reports (LSR/DLSR) and counts BYEs.
func (c *Conn) receiveRTCP(b []byte) {
	pkts, err := rtcp.Unmarshal(b)
	if err != nil {
		c.stats.inval.Add(1)
		return
	}
	c.stats.rtcpIn.Add(uint64(len(pkts)))
	for _, p := range pkts {
		switch p := p.(type) {
		case *rtcp.SenderReport:
			c.lastSR.Store(uint32(p.NTPTime >> 16))
			c.lastSRAt.Store(time.Now().UnixNano())
		case *rtcp.Goodbye:
			c.stats.byes.Add(1)
		}
	}
}

// housekeeper sends RTCP reports and watches for the media timeout, on a
// timer rather than a goroutine of its own: a call holds no stack for it
// between its rounds.
type housekeeper struct {
	mu         sync.Mutex
	timer      *time.Timer
	every      time.Duration
	lastReport time.Time
	stopped    bool
}

// startHousekeeping arms the first round.
func (c *Conn) startHousekeeping() {
	hk := &c.hk
	hk.every = min(c.cfg.RTCPInterval, time.Second)
	if c.cfg.MediaTimeout > 0 {
		hk.every = min(hk.every, max(c.cfg.MediaTimeout/4, 10*time.Millisecond))
	}
	hk.lastReport = time.Now()
	hk.mu.Lock()
	hk.timer = time.AfterFunc(hk.every, c.housekeep)
	hk.mu.Unlock()
}

// housekeep is one round: end a stream the peer stopped sending on, send a
// report when one is due, and arm the next round.
func (c *Conn) housekeep() {
	hk := &c.hk
	hk.mu.Lock()
	defer hk.mu.Unlock()
	if hk.stopped {
		return
	}
	select {
	case <-c.done: // ended without Close: no more rounds
		return
	default:
	}
	now := time.Now()
	if c.cfg.MediaTimeout > 0 && !c.held.Load() && now.Sub(time.Unix(0, c.last.Load())) > c.cfg.MediaTimeout {
		c.end(ErrMediaTimeout)
		return
	}
	if now.Sub(hk.lastReport) >= c.cfg.RTCPInterval {
		hk.lastReport = now
		c.report(now)
	}
	hk.timer.Reset(hk.every)
}

// stopHousekeeping cancels the next round and waits for one in progress.
func (c *Conn) stopHousekeeping() {
	hk := &c.hk
	hk.mu.Lock()
	defer hk.mu.Unlock()
	hk.stopped = true
	hk.timer.Stop()
}

// report sends a sender report (or a receiver report when nothing was sent).
func (c *Conn) report(now time.Time) {
	remote := c.remote.Load()
	if remote == nil {
		return
	}
	jitter := c.stats.jitterNanos.Load() * int64(c.codec.Load().clockRate) / int64(time.Second)
	rr := rtcp.ReceptionReport{SSRC: c.stats.rxSSRC.Load(), LastSequenceNumber: c.stats.highest.Load(),
		TotalLost: uint32(min(c.stats.lost.Load(), 1<<23)), Jitter: uint32(jitter)}
	if at := c.lastSRAt.Load(); at != 0 { // delay since the last SR, in 1/65536 s
		rr.LastSenderReport = c.lastSR.Load()
		rr.Delay = uint32(now.Sub(time.Unix(0, at)) * 65536 / time.Second)
	}
	var pkt rtcp.Packet
	if c.sentPkt.Load() > 0 {
		c.wmu.Lock()
		ts := c.ts
		c.wmu.Unlock()
		ntp := uint64(now.Unix()+2208988800)<<32 | uint64(now.Nanosecond())*(1<<32)/1e9
		pkt = &rtcp.SenderReport{SSRC: c.ssrc, NTPTime: ntp, RTPTime: ts,
			PacketCount: uint32(c.stats.packetsOut.Load()), OctetCount: uint32(c.stats.bytesOut.Load()), Reports: []rtcp.ReceptionReport{rr}}
	} else {
		pkt = &rtcp.ReceiverReport{SSRC: c.ssrc, Reports: []rtcp.ReceptionReport{rr}}
	}
	b, err := pkt.Marshal()
	if err != nil {
		return
	}
	if p := c.srtp.Load(); p != nil {
		if b, err = p.protectRTCP(b); err != nil {
			return
		}
	}
	dst := *remote
	sock := c.sock
	if !c.cfg.RTCPMux {
		if c.rtcp == nil {
			return
		}
		sock, dst = c.rtcp, netip.AddrPortFrom(dst.Addr(), dst.Port()+1)
	}
	_ = sock.WriteTo(b, dst)
}
