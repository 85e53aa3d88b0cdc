package rtpio

import (
	"net"
	"net/netip"
	"testing"

	"github.com/pion/rtp"

	"github.com/voxgate/voxgate/media"
)

// BenchmarkReceive measures one datagram through the receive path: parse,
// latch, sequence and jitter tracking, reorder window, and the frame handed
// to ReadFrame.
func BenchmarkReceive(b *testing.B) {
	c := &Conn{cfg: Config{ClockRate: 8000}, rx: media.NewHandoff(1), done: make(chan struct{})}
	c.SetCodec(0, 8000)
	p := rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 9}, Payload: make([]byte, 160)}
	buf := make([]byte, 1500)
	from := netip.MustParseAddrPort("127.0.0.1:4000")
	var f media.Frame
	b.ReportAllocs()
	for b.Loop() {
		p.SequenceNumber++
		p.Timestamp += 160
		n, _ := p.MarshalTo(buf)
		c.receive(buf[:n], from)
		if err := c.ReadFrame(&f); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}

// BenchmarkLoopback measures a frame written by one Conn and read by
// another over a real loopback socket.
func BenchmarkLoopback(b *testing.B) {
	rx, err := Listen(Config{Local: "127.0.0.1:0", ClockRate: 8000, MediaTimeout: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer rx.Close()
	tx, err := Listen(Config{Local: "127.0.0.1:0", ClockRate: 8000, MediaTimeout: -1, Remote: rx.LocalAddr()})
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Close()
	out := media.Frame{Payload: make([]byte, 160)}
	var in media.Frame
	b.ReportAllocs()
	for b.Loop() {
		if err := tx.WriteFrame(out); err != nil {
			b.Fatal(err)
		}
		if err := rx.ReadFrame(&in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}

// BenchmarkWrite measures one frame packetized and sent to a loopback
// socket that nobody reads (the kernel drops what overflows), as plain RTP
// and as SRTP.
func BenchmarkWrite(b *testing.B) {
	for _, secure := range []bool{false, true} {
		b.Run(map[bool]string{false: "rtp", true: "srtp"}[secure], func(b *testing.B) {
			sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				b.Fatal(err)
			}
			defer sink.Close()
			tx, err := Listen(Config{Local: "127.0.0.1:0", ClockRate: 8000, MediaTimeout: -1, Remote: sink.LocalAddr().(*net.UDPAddr).AddrPort()})
			if err != nil {
				b.Fatal(err)
			}
			defer tx.Close()
			if secure {
				keys, _ := srtpKeys()
				if err := tx.SetSRTP(keys); err != nil {
					b.Fatal(err)
				}
			}
			out := media.Frame{Payload: make([]byte, 160)}
			b.ReportAllocs()
			for b.Loop() {
				if err := tx.WriteFrame(out); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}
