package rtpio

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain checks that no goroutine but the shared pollers outlives the
// tests, and that every socket a test opened was closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(pollersLeftEmpty{m}, goleak.IgnoreAnyFunction("github.com/voxgate/voxgate/media/rtpio.(*poller).run"))
}

// pollersLeftEmpty fails a passing run whose pollers still watch sockets.
type pollersLeftEmpty struct{ m *testing.M }

func (p pollersLeftEmpty) Run() int {
	code := p.m.Run()
	for _, pl := range pollers.list {
		pl.mu.Lock()
		n := len(pl.sockets)
		pl.mu.Unlock()
		if n > 0 && code == 0 {
			fmt.Fprintf(os.Stderr, "%d sockets were left open\n", n)
			code = 1
		}
	}
	return code
}

// listenTest opens a socket on addr that sends what it receives to got.
func listenTest(t *testing.T, addr *net.UDPAddr, got chan<- datagram) *udpSocket {
	t.Helper()
	s, err := listenUDP(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.receive(func(b []byte, from netip.AddrPort) { got <- datagram{string(b), from} }); err != nil {
		t.Fatal(err)
	}
	return s
}

type datagram struct {
	text string
	from netip.AddrPort
}

// TestPollersDemultiplex: many sockets share the pollers, and each
// datagram reaches the handler of the socket it was sent to, with the
// sender's address.
func TestPollersDemultiplex(t *testing.T) {
	sender, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close()
	from := sender.LocalAddr().(*net.UDPAddr).AddrPort()
	const n = 40
	got := make([]chan datagram, n)
	socks := make([]*udpSocket, n)
	for i := range n {
		got[i] = make(chan datagram, 4)
		socks[i] = listenTest(t, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}, got[i])
	}
	for round := range 3 {
		for i, s := range socks {
			if _, err := sender.WriteToUDPAddrPort(fmt.Appendf(nil, "%d/%d", i, round), s.LocalAddr()); err != nil {
				t.Fatal(err)
			}
		}
	}
	for round := range 3 {
		for i := range n {
			select {
			case d := <-got[i]:
				if want := fmt.Sprintf("%d/%d", i, round); d.text != want || d.from != from {
					t.Fatalf("socket %d got %q from %v, want %q from %v", i, d.text, d.from, want, from)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("socket %d: round %d never arrived", i, round)
			}
		}
	}
}

// TestSocketCloseWaitsForHandler: Close returns only once a handler that
// is running has returned, and no datagram is handled after it.
func TestSocketCloseWaitsForHandler(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var handled atomic.Int32
	s, err := listenUDP(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.receive(func([]byte, netip.AddrPort) {
		if handled.Add(1) == 1 {
			close(entered)
			<-release
		}
	}); err != nil {
		t.Fatal(err)
	}
	sender, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close()
	for range 3 {
		_, _ = sender.WriteToUDPAddrPort([]byte("x"), s.LocalAddr())
	}
	<-entered
	closed := make(chan struct{})
	go func() { _ = s.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned while the handler ran")
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	<-closed
	if n := handled.Load(); n != 1 {
		t.Fatalf("%d datagrams handled; the two behind the first must not be once Close began", n)
	}
	if err := s.WriteTo([]byte("x"), sender.LocalAddr().(*net.UDPAddr).AddrPort()); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("WriteTo after Close: %v", err)
	}
}

// TestSocketFamilies: an unspecified address listens on IPv6 and IPv4 at
// once (IPv4 peers seen as IPv4, and written to), an IPv4 socket refuses
// an IPv6 destination.
func TestSocketFamilies(t *testing.T) {
	got := make(chan datagram, 1)
	any := listenTest(t, &net.UDPAddr{}, got)
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	to := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), any.LocalAddr().Port())
	if _, err := peer.WriteToUDPAddrPort([]byte("v4"), to); err != nil {
		t.Fatal(err)
	}
	d := <-got
	if d.text != "v4" || d.from != peer.LocalAddr().(*net.UDPAddr).AddrPort() {
		t.Fatalf("got %q from %v", d.text, d.from)
	}
	if err := any.WriteTo([]byte("back"), d.from); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, _, err := peer.ReadFromUDPAddrPort(buf); err != nil || string(buf[:n]) != "back" {
		t.Fatalf("peer read %q, %v", buf[:n], err)
	}
	v4 := listenTest(t, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}, make(chan datagram, 1))
	if err := v4.WriteTo([]byte("x"), netip.MustParseAddrPort("[::1]:9")); err == nil {
		t.Fatal("an IPv4 socket sent to an IPv6 address")
	}
}
