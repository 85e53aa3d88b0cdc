package rtpio

import (
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"go.uber.org/goleak"

	"github.com/voxgate/voxgate/media"
	"github.com/voxgate/voxgate/media/mediatest"
	"github.com/voxgate/voxgate/transcode/g711"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

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
	go func() {
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

func (s *sender) send(ssrc uint32, pt uint8, seq uint16, payload string) {
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: uint32(seq) * 160, SSRC: ssrc}, Payload: []byte(payload)}
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
	// A new SSRC restarts sequencing.
	for _, seq := range []uint16{100, 101} {
		s.send(2, 0, seq, "n"+itoa(seq))
	}
	var got []string
	for _, f := range read(t, b, 12) {
		if f.Missing {
			got = append(got, "gap")
		} else {
			got = append(got, string(f.Payload))
		}
	}
	want := "p65534 p65535 p0 p1 p2 p3 gap p5 p6 p7 p8 n100"
	if strings.Join(got, " ") != want {
		t.Fatalf("frames\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	read(t, b, 1) // n101
	st := b.Stats()
	if st.Strays != 1 || st.Lost != 1 || st.Duplicates != 1 || st.SSRCChanges != 1 || st.Late != 2 || st.PacketsIn != 14 {
		t.Fatalf("stats %+v", st)
	}
	s.sock.WriteToUDPAddrPort([]byte{0xde, 0xad}, b.LocalAddr())
	s.send(1, 99, 7, "wrong payload type")
	time.Sleep(20 * time.Millisecond)
	if b.Stats().Invalid != 2 {
		t.Fatalf("invalid = %d", b.Stats().Invalid)
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
	deadline := time.Now().Add(3 * time.Second)
	for {
		mu.Lock()
		got := string(digits)
		mu.Unlock()
		if got == "12#9" {
			break
		}
		if time.Now().After(deadline) || len(got) > 4 {
			t.Fatalf("digits %q", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := pcmu(t, Config{Remote: b.LocalAddr()}).SendDTMF("1"); err == nil {
		t.Fatal("sent DTMF without telephone-event")
	}
}

func TestMediaTimeoutAndHold(t *testing.T) {
	held := pcmu(t, Config{MediaTimeout: 100 * time.Millisecond})
	held.Hold(true)
	c := pcmu(t, Config{MediaTimeout: 100 * time.Millisecond})
	select {
	case <-c.Done():
	case <-time.After(3 * time.Second):
		t.Fatal("no media timeout")
	}
	if c.Err() != ErrMediaTimeout {
		t.Fatalf("err %v", c.Err())
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
		for b.Stats().RTCPIn == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("mux=%v: no RTCP arrived", mux)
			}
			time.Sleep(10 * time.Millisecond)
		}
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
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &Conn{cfg: Config{ClockRate: 8000, DTMFPayloadType: 101, OnDTMF: func(byte) {}}, frames: make(chan rxFrame, 4), done: make(chan struct{})}
		c.SetCodec(0, 8000)
		var pkt rtp.Packet
		from := netip.MustParseAddrPort("127.0.0.1:4000")
		for range 3 {
			c.receive(data, from, &pkt)
		}
	})
}
