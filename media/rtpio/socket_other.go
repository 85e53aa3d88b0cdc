//go:build !linux

package rtpio

import (
	"net"
	"net/netip"
	"sync"
)

// udpSocket is a UDP socket read by a goroutine of its own (the shared epoll
// pollers are Linux's).
type udpSocket struct {
	conn *net.UDPConn
	wg   sync.WaitGroup
}

// listenUDP opens a UDP socket on addr.
func listenUDP(addr *net.UDPAddr) (*udpSocket, error) {
	conn, err := net.ListenUDP("udp", addr)
	if err != nil {
		return nil, err
	}
	return &udpSocket{conn: conn}, nil
}

// LocalAddr is the address the socket is bound to.
func (s *udpSocket) LocalAddr() netip.AddrPort { return s.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// receive hands every datagram that arrives from now on to handle. b is
// valid only during the call; handle must not block or close the socket.
func (s *udpSocket) receive(handle func(b []byte, from netip.AddrPort)) error {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		buf := make([]byte, 1500)
		for {
			n, from, err := s.conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			handle(buf[:n], netip.AddrPortFrom(from.Addr().Unmap(), from.Port()))
		}
	}()
	return nil
}

// WriteTo sends one datagram to to.
func (s *udpSocket) WriteTo(b []byte, to netip.AddrPort) error {
	_, err := s.conn.WriteToUDPAddrPort(b, to)
	return err
}

// Close stops receiving and closes the socket, once a handler running for
// it has returned.
func (s *udpSocket) Close() error {
	err := s.conn.Close()
	s.wg.Wait()
	return err
}
