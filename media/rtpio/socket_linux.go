package rtpio

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// udpSocket is a UDP socket kept out of Go's network poller. Its datagrams
// are read by a poller shared with many other sockets: one goroutine per
// core waits in epoll for all of them, reads a datagram from each socket
// that has one and hands it to the socket's handler. A call then needs no
// goroutine of its own to receive, and a receive costs one recvfrom instead
// of a goroutine wake-up and a second read that finds nothing. Writes are
// one sendto that never waits: a datagram that does not fit the socket's
// send buffer is dropped, as a real-time stream wants.
type udpSocket struct {
	mu     sync.RWMutex   // held for reading while fd is in use; Close takes it
	fd     int            // -1 once closed
	local  netip.AddrPort // an IPv4 address for an IPv4 socket
	poller *poller
	handle func(b []byte, from netip.AddrPort)
}

// listenUDP opens a non-blocking UDP socket on addr: an IPv4 one for an IPv4
// address, else an IPv6 one that takes IPv4 too (as Go's net does).
func listenUDP(addr *net.UDPAddr) (*udpSocket, error) {
	ip, ok := netip.AddrFromSlice(addr.IP)
	if len(addr.IP) == 0 {
		ip, ok = netip.IPv6Unspecified(), true
	}
	if !ok {
		return nil, fmt.Errorf("rtpio: local address %v", addr)
	}
	ip = ip.Unmap()
	family := syscall.AF_INET6
	if ip.Is4() {
		family = syscall.AF_INET
	}
	const kind = syscall.SOCK_DGRAM | syscall.SOCK_NONBLOCK | syscall.SOCK_CLOEXEC
	fd, err := syscall.Socket(family, kind, syscall.IPPROTO_UDP)
	if err != nil && len(addr.IP) == 0 { // no IPv6 here: any IPv4 address
		ip, family = netip.IPv4Unspecified(), syscall.AF_INET
		fd, err = syscall.Socket(family, kind, syscall.IPPROTO_UDP)
	}
	if err != nil {
		return nil, fmt.Errorf("rtpio: socket: %w", err)
	}
	var sa syscall.Sockaddr
	if family == syscall.AF_INET {
		sa = &syscall.SockaddrInet4{Port: addr.Port, Addr: ip.As4()}
	} else {
		_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_IPV6, syscall.IPV6_V6ONLY, 0)
		sa = &syscall.SockaddrInet6{Port: addr.Port, Addr: ip.As16()}
	}
	if err := syscall.Bind(fd, sa); err != nil {
		_ = syscall.Close(fd)
		return nil, fmt.Errorf("rtpio: listen udp %v: %w", addr, err)
	}
	bound, err := syscall.Getsockname(fd)
	if err != nil {
		_ = syscall.Close(fd)
		return nil, fmt.Errorf("rtpio: getsockname: %w", err)
	}
	s := &udpSocket{fd: fd}
	switch a := bound.(type) {
	case *syscall.SockaddrInet4:
		s.local = netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *syscall.SockaddrInet6:
		s.local = netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port))
	}
	return s, nil
}

// LocalAddr is the address the socket is bound to.
func (s *udpSocket) LocalAddr() netip.AddrPort { return s.local }

// receive hands every datagram that arrives from now on to handle, on a
// poller's goroutine. b is valid only during the call; handle must not
// block or close the socket.
func (s *udpSocket) receive(handle func(b []byte, from netip.AddrPort)) error {
	pollers.once.Do(startPollers)
	if len(pollers.list) == 0 {
		return pollers.err
	}
	p := pollers.list[pollers.next.Add(1)%uint32(len(pollers.list))]
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fd < 0 {
		return net.ErrClosed
	}
	s.handle, s.poller = handle, p
	return p.add(s)
}

// WriteTo sends one datagram to to without waiting.
func (s *udpSocket) WriteTo(b []byte, to netip.AddrPort) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.fd < 0 {
		return net.ErrClosed
	}
	var sa syscall.RawSockaddrInet6 // room for either family
	n, err := s.sockaddr(&sa, to)
	if err != nil {
		return err
	}
	_, _, errno := syscall.Syscall6(syscall.SYS_SENDTO, uintptr(s.fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)),
		syscall.MSG_DONTWAIT, uintptr(unsafe.Pointer(&sa)), uintptr(n))
	if errno != 0 {
		return errno
	}
	return nil
}

// sockaddr writes to as the socket family's raw address into sa and
// returns its length.
func (s *udpSocket) sockaddr(sa *syscall.RawSockaddrInet6, to netip.AddrPort) (int, error) {
	addr := to.Addr()
	if s.local.Addr().Is4() {
		addr = addr.Unmap()
		if !addr.Is4() {
			return 0, fmt.Errorf("rtpio: %v is not an IPv4 address", addr)
		}
		raw := (*syscall.RawSockaddrInet4)(unsafe.Pointer(sa))
		raw.Family = syscall.AF_INET
		putPort(&raw.Port, to.Port())
		raw.Addr = addr.As4()
		return syscall.SizeofSockaddrInet4, nil
	}
	sa.Family = syscall.AF_INET6
	putPort(&sa.Port, to.Port())
	sa.Addr = addr.As16() // an IPv4 address as IPv4-mapped
	return syscall.SizeofSockaddrInet6, nil
}

// putPort and port store and read a sockaddr's port, in network byte order.
func putPort(dst *uint16, p uint16) {
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(dst))[:], p)
}
func port(src *uint16) uint16 { return binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(src))[:]) }

// Close stops receiving and closes the socket, once a handler running for
// it has returned; it is idempotent.
func (s *udpSocket) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fd < 0 {
		return nil
	}
	if s.poller != nil {
		s.poller.remove(s)
	}
	err := syscall.Close(s.fd)
	s.fd = -1
	return err
}

// readable reads one datagram, if one is there, into p's buffer and hands
// it to the handler (on p's goroutine).
func (s *udpSocket) readable(p *poller) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.fd < 0 {
		return
	}
	size := uint32(syscall.SizeofSockaddrAny)
	n, _, errno := syscall.Syscall6(syscall.SYS_RECVFROM, uintptr(s.fd), uintptr(unsafe.Pointer(&p.buf[0])), uintptr(len(p.buf)),
		syscall.MSG_DONTWAIT, uintptr(unsafe.Pointer(&p.from)), uintptr(unsafe.Pointer(&size)))
	if errno != 0 {
		return // EAGAIN: the event was for an earlier socket with this fd
	}
	var from netip.AddrPort
	switch p.from.Addr.Family {
	case syscall.AF_INET:
		raw := (*syscall.RawSockaddrInet4)(unsafe.Pointer(&p.from))
		from = netip.AddrPortFrom(netip.AddrFrom4(raw.Addr), port(&raw.Port))
	case syscall.AF_INET6:
		raw := (*syscall.RawSockaddrInet6)(unsafe.Pointer(&p.from))
		from = netip.AddrPortFrom(netip.AddrFrom16(raw.Addr).Unmap(), port(&raw.Port))
	}
	s.handle(p.buf[:n], from)
}

// poller waits in epoll for many sockets and reads them on one goroutine.
type poller struct {
	epfd    int
	epoll   syscall.RawConn // epfd in Go's network poller
	mu      sync.Mutex
	sockets map[int32]*udpSocket // by fd

	// the goroutine's own
	buf  [1500]byte
	from syscall.RawSockaddrAny
}

// pollers are started on first use, one per core.
var pollers struct {
	once sync.Once
	list []*poller
	err  error
	next atomic.Uint32
}

func startPollers() {
	for range runtime.GOMAXPROCS(0) {
		p, err := newPoller()
		if err != nil {
			pollers.err = err
			return
		}
		pollers.list = append(pollers.list, p)
		go p.run()
	}
}

// newPoller makes an epoll instance that Go's own network poller watches:
// the poller's goroutine parks like any reader until one of its sockets
// has a datagram, rather than holding a thread in epoll_wait.
func newPoller() (*poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("rtpio: epoll: %w", err)
	}
	if err := syscall.SetNonblock(epfd, true); err != nil {
		_ = syscall.Close(epfd)
		return nil, fmt.Errorf("rtpio: epoll: %w", err)
	}
	rc, err := os.NewFile(uintptr(epfd), "rtpio-epoll").SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("rtpio: epoll: %w", err)
	}
	return &poller{epfd: epfd, epoll: rc, sockets: make(map[int32]*udpSocket)}, nil
}

// add starts watching s (level-triggered: a datagram left unread is
// reported again).
func (p *poller) add(s *udpSocket) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(s.fd)}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, s.fd, &ev); err != nil {
		return fmt.Errorf("rtpio: epoll add: %w", err)
	}
	p.sockets[int32(s.fd)] = s
	return nil
}

// remove stops watching s before its fd is closed.
func (p *poller) remove(s *udpSocket) {
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, s.fd, nil)
	delete(p.sockets, int32(s.fd))
}

// run reads the sockets that are readable, one datagram each per round,
// and parks until one is when none is.
func (p *poller) run() {
	events := make([]syscall.EpollEvent, 128)
	ready := make([]*udpSocket, 0, len(events))
	round := func(uintptr) bool {
		n, _ := syscall.EpollWait(p.epfd, events, 0)
		if n <= 0 {
			return false // nothing ready (or EINTR): wait for the next readiness
		}
		p.mu.Lock()
		for _, ev := range events[:n] {
			if s := p.sockets[ev.Fd]; s != nil {
				ready = append(ready, s)
			}
		}
		p.mu.Unlock()
		for _, s := range ready {
			s.readable(p)
		}
		clear(ready)
		ready = ready[:0]
		return true
	}
	for {
		if err := p.epoll.Read(round); err != nil {
			panic(fmt.Sprintf("rtpio: epoll: %v", err)) // the epoll fd is never closed: a bug, not input
		}
	}
}
