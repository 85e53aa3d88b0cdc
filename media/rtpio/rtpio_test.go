package rtpio

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/voxgate/voxgate/media"
	"github.com/voxgate/voxgate/media/mediatest"
	"github.com/voxgate/voxgate/transcode/g711"
)

func pcmu(t *testing.T, cfg Config) *Conn {
	t.Helper()
	cfg.Local, cfg.PayloadType, cfg.ClockRate = "127.0.0.1:0", 0, 8000
	c, err := Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// read takes n frames from c, failing after a deadline.
func read(t *testing.T, c *Conn, n int) []media.Frame {
	t.Helper()
	out := make([]media.Frame, 0, n)
	got := make(chan media.Frame)
	go func() {
		for range n {
			var f media.Frame
			if c.ReadFrame(&f) != nil {
				return
			}
			got <- f
		}
	}()
	for range n {
		select {
		case f := <-got:
			out = append(out, f)
		case <-time.After(5 * time.Second):
			t.Fatalf("got %d of %d frames", len(out), n)
		}
	}
	return out
}

func TestToneEndToEnd(t *testing.T) {
	a, b := pcmu(t, Config{}), pcmu(t, Config{})
	a.SetRemote(b.LocalAddr())
	sine := mediatest.NewSine(8000, 1000, -10)
	pcm := make([]int16, 160)
	payload := make([]byte, 160)
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for range 50 {
			sine.Read(pcm)
			g711.PCMU.Encode(pcm, payload)
			_ = a.WriteFrame(media.Frame{Payload: payload})
			time.Sleep(time.Millisecond)
		}
	}()
	var heard []int16
	for _, f := range read(t, b, 50) {
		dec := make([]int16, 160)
		if f.Missing {
			t.Fatal("loss on loopback")
		}
		g711.PCMU.Decode(f.Payload, dec)
		heard = append(heard, dec...)
	}
	<-sent // the sender counts a packet just after the kernel took it
	mediatest.CheckTone(t, heard, 8000, mediatest.ToneWant{Freq: 1000, Level: -10, MinSNR: 30})
	// b latched a's address: it can answer without being told where.
	if b.Remote() != a.LocalAddr() {
		t.Fatalf("b sends to %v, want %v", b.Remote(), a.LocalAddr())
	}
	if st := b.Stats(); st.PacketsIn != 50 || st.Lost != 0 || a.Stats().PacketsOut != 50 {
		t.Fatalf("stats in %+v out %+v", st, a.Stats())
	}
}

// sender crafts RTP packets from its own socket.
type sender struct {
	t    *testing.T
	sock *net.UDPConn
	to   netip.AddrPort
}

func newSender(t *testing.T, to netip.AddrPort) *sender {
	sock, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sock.Close() })
	return &sender{t: t, sock: sock, to: to}
}

// send sends an audio packet whose timestamp follows its sequence number.
func (s *sender) send(ssrc uint32, pt uint8, seq uint16, payload string) {
	s.packet(rtp.Header{PayloadType: pt, SequenceNumber: seq, Timestamp: uint32(seq) * 160, SSRC: ssrc}, []byte(payload))
}

func (s *sender) packet(h rtp.Header, payload []byte) {
	h.Version = 2
	p := rtp.Packet{Header: h, Payload: payload}
	b, _ := p.Marshal()
	if _, err := s.sock.WriteToUDPAddrPort(b, s.to); err != nil {
		s.t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond) // keep loopback order as sent
}

func TestCraftedStreams(t *testing.T) {
	b := pcmu(t, Config{})
	s := newSender(t, b.LocalAddr())
	stray := newSender(t, b.LocalAddr())
	// In order across the wrap, then reordered, a loss, a duplicate.
	for _, seq := range []uint16{65534, 65535, 0, 2, 1, 3, 5, 6, 6, 7, 8} {
		s.send(1, 0, seq, "p"+itoa(seq))
	}
	stray.send(9, 0, 4, "stray") // another address: ignored after the latch
	s.send(1, 0, 4, "late")      // 4 came after the window gave up on it
	s.send(1, 0, 10, "p10")      // waits for 9, which never comes
	// A new SSRC restarts sequencing; what waited goes out first.
	for _, seq := range []uint16{100, 101} {
		s.send(2, 0, seq, "n"+itoa(seq))
	}
	var got []string
	for _, f := range read(t, b, 15) {
		if f.Missing {
			got = append(got, fmt.Sprintf("gap@%d", f.Timestamp/160))
		} else {
			got = append(got, fmt.Sprintf("%s@%d", f.Payload, f.Timestamp/160))
		}
	}
	want := "p65534@65534 p65535@65535 p0@0 p1@1 p2@2 p3@3 gap@4 p5@5 p6@6 p7@7 p8@8 gap@9 p10@10 n100@100 n101@101"
	if strings.Join(got, " ") != want {
		t.Fatalf("frames\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	// 1 came out of order but in time: not late; the timestamp jump at the
	// sequence wrap stays out of the jitter.
	st := b.Stats()
	if st.Strays != 1 || st.Lost != 2 || st.Duplicates != 1 || st.SSRCChanges != 1 || st.Late != 1 || st.PacketsIn != 15 || st.Jitter > time.Second {
		t.Fatalf("stats %+v", st)
	}
	s.sock.WriteToUDPAddrPort([]byte{0xde, 0xad}, b.LocalAddr())
	s.send(1, 99, 7, "wrong payload type")
	time.Sleep(20 * time.Millisecond)
	if b.Stats().Invalid != 2 {
		t.Fatalf("invalid = %d", b.Stats().Invalid)
	}
}

// sendReceived sends packets 0 to n-1 ("p0"...) and waits until b has
// received them all.
func sendReceived(t *testing.T, b *Conn, s *sender, n uint16) {
	t.Helper()
	for seq := range n {
		s.send(1, 0, seq, "p"+itoa(seq))
	}
	deadline := time.Now().Add(3 * time.Second)
	for b.Stats().PacketsIn < uint64(n) {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v", b.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSlowReader(t *testing.T) {
	b := pcmu(t, Config{})
	sendReceived(t, b, newSender(t, b.LocalAddr()), 20)
	// The oldest 16 wait for the reader; the rest are dropped and counted.
	if f := read(t, b, 16); string(f[0].Payload) != "p0" || string(f[15].Payload) != "p15" {
		t.Fatalf("frames %q .. %q", f[0].Payload, f[15].Payload)
	}
	if st := b.Stats(); st.Dropped != 4 {
		t.Fatalf("stats %+v", st)
	}
}

// TestDeliver: after Deliver, frames go to the writer as they are
// received: those that waited for ReadFrame first, then the new ones in
// order, gaps as Missing frames.
func TestDeliver(t *testing.T) {
	b := pcmu(t, Config{})
	s := newSender(t, b.LocalAddr())
	sendReceived(t, b, s, 3)
	got := make(chan string, 16)
	b.Deliver(media.WriterFunc(func(f media.Frame) error {
		if f.Missing {
			got <- fmt.Sprintf("gap@%d", f.Timestamp/160)
		} else {
			got <- fmt.Sprintf("%s@%d", f.Payload, f.Timestamp/160)
		}
		return nil
	}))
	for _, seq := range []uint16{3, 5, 4, 7, 8, 9, 10, 11, 12} { // the window gives up on 6 as later ones come
		s.send(1, 0, seq, "p"+itoa(seq))
	}
	var frames []string
	for len(frames) < 9 {
		select {
		case f := <-got:
			frames = append(frames, f)
		case <-time.After(5 * time.Second):
			t.Fatalf("got %v", frames)
		}
	}
	if want := "p0@0 p1@1 p2@2 p3@3 p4@4 p5@5 gap@6 p7@7 p8@8"; strings.Join(frames, " ") != want {
		t.Fatalf("frames\n got %s\nwant %s", strings.Join(frames, " "), want)
	}
}

func TestRelatchAfterSilence(t *testing.T) {
	b := pcmu(t, Config{RelatchAfter: 50 * time.Millisecond})
	first, second := newSender(t, b.LocalAddr()), newSender(t, b.LocalAddr())
	first.send(1, 0, 1, "a")
	second.send(2, 0, 1, "stray")
	time.Sleep(80 * time.Millisecond) // the first source falls silent
	second.send(2, 0, 2, "b")
	var got []string
	for _, f := range read(t, b, 2) {
		got = append(got, string(f.Payload))
	}
	if strings.Join(got, " ") != "a b" {
		t.Fatalf("frames %v", got)
	}
	if b.Remote() != second.sock.LocalAddr().(*net.UDPAddr).AddrPort() {
		t.Fatalf("latched to %v", b.Remote())
	}
	if st := b.Stats(); st.Strays != 1 || st.SSRCChanges != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func itoa(n uint16) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func TestDTMFBothWays(t *testing.T) {
	var mu sync.Mutex
	var digits []byte
	b := pcmu(t, Config{DTMFPayloadType: 101, OnDTMF: func(d byte) { mu.Lock(); digits = append(digits, d); mu.Unlock() }})
	a := pcmu(t, Config{DTMFPayloadType: 101, Remote: b.LocalAddr()})
	if err := a.SendDTMF("12#9"); err != nil {
		t.Fatal(err)
	}
	waitDigits(t, func() string { mu.Lock(); defer mu.Unlock(); return string(digits) }, "12#9")
	if err := pcmu(t, Config{Remote: b.LocalAddr()}).SendDTMF("1"); err == nil {
		t.Fatal("sent DTMF without telephone-event")
	}
}

// waitDigits waits until got() returns want, failing on a deadline or on
// more digits than wanted.
func waitDigits(t *testing.T, got func() string, want string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for g := got(); g != want; g = got() {
		if time.Now().After(deadline) || len(g) > len(want) {
			t.Fatalf("digits %q, want %q", g, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDTMFCrafted(t *testing.T) {
	var mu sync.Mutex
	var digits []byte
	b := pcmu(t, Config{DTMFPayloadType: 101, OnDTMF: func(d byte) { mu.Lock(); digits = append(digits, d); mu.Unlock() }})
	s := newSender(t, b.LocalAddr())
	pkts, err := media.GenerateDTMF("5*5", 8000, 10)
	if err != nil {
		t.Fatal(err)
	}
	// The start packet of the second 5 is lost; every end packet comes
	// three times; DTMF has its own SSRC and interleaves with audio.
	for i, p := range pkts {
		s.send(1, 0, uint16(i), "a")
		if p.Marker && i > 0 && p.Payload[0] == 5 {
			continue
		}
		s.packet(rtp.Header{PayloadType: 101, Marker: p.Marker, SequenceNumber: uint16(500 + i), Timestamp: 9000 + p.TimestampOffset, SSRC: 2}, p.Payload[:])
	}
	waitDigits(t, func() string { mu.Lock(); defer mu.Unlock(); return string(digits) }, "5*5")
	time.Sleep(20 * time.Millisecond) // nothing more arrives
	mu.Lock()
	defer mu.Unlock()
	if string(digits) != "5*5" {
		t.Fatalf("digits %q", digits)
	}
	if st := b.Stats(); st.SSRCChanges != 0 || st.Lost != 0 {
		t.Fatalf("DTMF disturbed the audio: %+v", st)
	}
}

func TestMediaTimeoutAndHold(t *testing.T) {
	held := pcmu(t, Config{MediaTimeout: 100 * time.Millisecond})
	held.Hold(true)
	c := pcmu(t, Config{MediaTimeout: 100 * time.Millisecond})
	ended := make(chan error, 2)
	c.OnEnd(func(err error) { ended <- err })
	select {
	case err := <-ended:
		if err != ErrMediaTimeout {
			t.Fatalf("OnEnd got %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no media timeout")
	}
	if c.Err() != ErrMediaTimeout {
		t.Fatalf("err %v", c.Err())
	}
	c.OnEnd(func(err error) { ended <- err }) // after the end: at once
	if err := <-ended; err != ErrMediaTimeout {
		t.Fatalf("OnEnd after the end got %v", err)
	}
	var f media.Frame
	if err := c.ReadFrame(&f); err != ErrMediaTimeout {
		t.Fatalf("read after timeout: %v", err)
	}
	if held.Err() != nil {
		t.Fatal("a held call timed out")
	}
}

func TestRTCPReports(t *testing.T) {
	for _, mux := range []bool{true, false} {
		b := pcmu(t, Config{RTCPMux: mux, RTCPInterval: 30 * time.Millisecond})
		a := pcmu(t, Config{RTCPMux: mux, RTCPInterval: 30 * time.Millisecond, Remote: b.LocalAddr()})
		_ = a.WriteFrame(media.Frame{Payload: make([]byte, 160)})
		deadline := time.Now().Add(3 * time.Second)
		// a sends SRs (it sent RTP); b reports back on what it received,
		// with the last SR it had from a.
		for b.Stats().RTCPIn == 0 || b.lastSRAt.Load() == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("mux=%v: no RTCP arrived (a %+v, b %+v)", mux, a.Stats(), b.Stats())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func TestRTCPBye(t *testing.T) {
	b := pcmu(t, Config{RTCPMux: true})
	s := newSender(t, b.LocalAddr())
	bye, _ := (&rtcp.Goodbye{Sources: []uint32{7}}).Marshal()
	rr, _ := (&rtcp.ReceiverReport{SSRC: 7}).Marshal()
	if _, err := s.sock.WriteToUDPAddrPort(append(rr, bye...), b.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for b.Stats().Byes != 1 || b.Stats().RTCPIn != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v", b.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPortRange(t *testing.T) {
	c, err := Listen(Config{Local: "127.0.0.1:0", PortMin: 40000, PortMax: 40100, ClockRate: 8000})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if p := c.LocalAddr().Port(); p < 40000 || p > 40100 || p%2 != 0 {
		t.Fatalf("port %d", p)
	}
	// An odd range of three ports holds one RTP/RTCP pair: 47302 and 47303.
	d, err := Listen(Config{Local: "127.0.0.1:0", PortMin: 47301, PortMax: 47303, ClockRate: 8000})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if p := d.LocalAddr().Port(); p != 47302 || d.rtcp == nil {
		t.Fatalf("port %d, rtcp %v", p, d.rtcp)
	}
	if _, err := Listen(Config{Local: "127.0.0.1:0", PortMin: 47301, PortMax: 47303, ClockRate: 8000}); err == nil {
		t.Fatal("a full range gave a port")
	}
	if _, err := Listen(Config{Local: "127.0.0.1:0", ClockRate: 0}); err == nil {
		t.Fatal("accepted a zero clock rate")
	}
}

func FuzzReceive(f *testing.F) {
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: 1, SSRC: 7}, Payload: []byte{1, 2, 3}}
	b, _ := p.Marshal()
	f.Add(b)
	f.Add([]byte{0x81, 0xc8, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	dtmf := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 101, SequenceNumber: 2, SSRC: 7}, Payload: []byte{5, 10, 0, 160}}
	b, _ = dtmf.Marshal()
	f.Add(b)
	f.Add([]byte{})
	sr, _ := (&rtcp.SenderReport{SSRC: 7, NTPTime: 1 << 40, Reports: []rtcp.ReceptionReport{{SSRC: 9}}}).Marshal()
	bye, _ := (&rtcp.Goodbye{Sources: []uint32{7}, Reason: "bye"}).Marshal()
	f.Add(append(sr, bye...))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &Conn{cfg: Config{ClockRate: 8000, DTMFPayloadType: 101, OnDTMF: func(byte) {}}, rx: media.NewHandoff(4), done: make(chan struct{})}
		c.SetCodec(0, 8000)
		from := netip.MustParseAddrPort("127.0.0.1:4000")
		for range 3 {
			c.receive(data, from)
		}
	})
}

// TestDTMFInAudioNumbering: telephone-events that share the audio's SSRC
// and sequence numbers (as most phones send them) are no losses: each
// audio frame passes at once, and each event's place passes at once as a
// missing frame (the 20 ms cadence kept), not waited for.
func TestDTMFInAudioNumbering(t *testing.T) {
	var mu sync.Mutex
	var digits []byte
	b := pcmu(t, Config{DTMFPayloadType: 101, OnDTMF: func(d byte) { mu.Lock(); digits = append(digits, d); mu.Unlock() }})
	s := newSender(t, b.LocalAddr())
	pkts, err := media.GenerateDTMF("7", 8000, 10)
	if err != nil {
		t.Fatal(err)
	}
	pkts = pkts[:min(len(pkts), 6)] // the frames fit the unread hand-off queue (16)
	seq := uint16(1000)
	audio := 0
	for i, p := range pkts {
		s.send(0x77, 0, seq, "audio")
		seq++
		audio++
		s.packet(rtp.Header{PayloadType: 101, Marker: p.Marker, SequenceNumber: seq, Timestamp: 9000 + p.TimestampOffset, SSRC: 0x77}, p.Payload[:])
		seq++
		if i == len(pkts)-1 {
			s.send(0x77, 0, seq, "audio")
			audio++
		}
	}
	for i, f := range read(t, b, 2*audio-1) { // audio, event, audio, …
		if f.Missing != (i%2 == 1) {
			t.Fatalf("frame %d missing=%v: the events' places are out of step", i, f.Missing)
		}
	}
	waitDigits(t, func() string { mu.Lock(); defer mu.Unlock(); return string(digits) }, "7")
	if st := b.Stats(); st.Lost != 0 {
		t.Fatalf("stats %+v", st)
	}
}
