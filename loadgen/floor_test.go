package loadgen

import (
	"io"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"
)

// floorCalls is how many calls' sockets BenchmarkLoopbackFloor cycles
// through, the capacity target's.
const floorCalls = 1000

// floorCall is one call's sockets as a run on one machine has them: the
// phone's and the gateway's RTP sockets, and the subscriber's WebSocket
// connection from both ends.
type floorCall struct {
	phone, gwRTP *net.UDPConn
	phoneAddr    netip.AddrPort
	gwAddr       netip.AddrPort
	gwWS, subWS  net.Conn
}

// BenchmarkLoopbackFloor measures the system calls one bidirectional call
// costs per 20 ms frame when loadgen and the gateway share the machine, with
// nothing else: an op is a PCMU RTP packet from the phone to the gateway and
// one back, an audio.output WebSocket frame from the gateway to the
// subscriber and an audio.input back, each sent and read once, over a
// thousand calls' sockets in turn. It is the floor under any gateway and
// load generator on loopback: no wake-ups (each read finds its data), no
// parsing, no audio. cpu-µs/frame is the process's CPU time per op;
// cores@1000 is what a thousand calls' 50 frames a second cost at it.
func BenchmarkLoopbackFloor(b *testing.B) {
	calls := make([]floorCall, floorCalls)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	for i := range calls {
		calls[i] = newFloorCall(b, ln)
	}
	defer func() {
		for _, c := range calls {
			c.phone.Close()
			c.gwRTP.Close()
			c.gwWS.Close()
			c.subWS.Close()
		}
	}()
	rtpPacket := make([]byte, 12+160)
	input := AppendAudioInput(nil, 1)
	wsIn := append(make([]byte, 8, 8+len(input)), input...) // masked client frame: 2-byte header, 2-byte length, 4-byte key
	wsOut := make([]byte, 4+len(input)+30)                  // audio.output carries a few more fields than audio.input
	buf := make([]byte, 1500)

	start := cpuTime(b)
	b.ResetTimer()
	for i := range b.N {
		c := &calls[i%len(calls)]
		if _, err := c.phone.WriteToUDPAddrPort(rtpPacket, c.gwAddr); err != nil {
			b.Fatal(err)
		}
		if _, _, err := c.gwRTP.ReadFromUDPAddrPort(buf); err != nil {
			b.Fatal(err)
		}
		if _, err := c.gwRTP.WriteToUDPAddrPort(rtpPacket, c.phoneAddr); err != nil {
			b.Fatal(err)
		}
		if _, _, err := c.phone.ReadFromUDPAddrPort(buf); err != nil {
			b.Fatal(err)
		}
		passFrame(b, c.gwWS, c.subWS, wsOut, buf)
		passFrame(b, c.subWS, c.gwWS, wsIn, buf)
	}
	b.StopTimer()
	perFrame := float64(cpuTime(b)-start) / float64(b.N)
	b.ReportMetric(perFrame/float64(time.Microsecond), "cpu-µs/frame")
	b.ReportMetric(perFrame*50*floorCalls/float64(time.Second), "cores@1000")
}

// newFloorCall opens one call's sockets on loopback.
func newFloorCall(b *testing.B, ln net.Listener) floorCall {
	b.Helper()
	var c floorCall
	var err error
	if c.phone, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
		b.Fatal(err)
	}
	if c.gwRTP, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
		b.Fatal(err)
	}
	c.phoneAddr = c.phone.LocalAddr().(*net.UDPAddr).AddrPort()
	c.gwAddr = c.gwRTP.LocalAddr().(*net.UDPAddr).AddrPort()
	if c.subWS, err = net.Dial("tcp", ln.Addr().String()); err != nil {
		b.Fatal(err)
	}
	if c.gwWS, err = ln.Accept(); err != nil {
		b.Fatal(err)
	}
	return c
}

// passFrame writes frame on from and reads all of it on to.
func passFrame(b *testing.B, from, to net.Conn, frame, buf []byte) {
	if _, err := from.Write(frame); err != nil {
		b.Fatal(err)
	}
	if _, err := io.ReadFull(to, buf[:len(frame)]); err != nil {
		b.Fatal(err)
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
