package sip

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// Limits guard the SIP port against scanners and floods. Sources inside a
// trunk's inbound_cidrs are not limited: a carrier's rate is bounded by its
// trunk's max_concurrent_calls instead.
type Limits struct {
	// SourceRate is how many INVITEs and REGISTERs a second any other source
	// may send, with bursts of SourceBurst. Default 5/s, burst 20; negative
	// turns the limit off.
	SourceRate  float64
	SourceBurst int
	// BanFor is how long a source past the limit is ignored: its requests
	// are dropped unanswered, so a scanner learns nothing and waits on its
	// own retransmissions. Default 10 minutes.
	BanFor time.Duration
	// MaxCallsPerOrg caps an organization's concurrent SIP calls on this
	// node; past it inbound INVITEs get 486 and /dial fails (0: no cap).
	MaxCallsPerOrg int
}

func (l *Limits) defaults() {
	if l.SourceRate == 0 {
		l.SourceRate = 5
	}
	if l.SourceBurst <= 0 {
		l.SourceBurst = 20
	}
	if l.BanFor <= 0 {
		l.BanFor = 10 * time.Minute
	}
}

// maxSources bounds the sources the limiter remembers; past it, idle ones
// are forgotten first, so spoofed floods cannot grow it without end.
const maxSources = 100_000

// limiter is a token bucket per source address, with bans.
type limiter struct {
	rate   float64
	burst  float64
	banFor time.Duration
	now    func() time.Time

	mu      sync.Mutex
	sources map[netip.Addr]*bucket

	limited atomic.Uint64 // requests dropped: over the rate or banned
	bans    atomic.Uint64 // sources banned
}

type bucket struct {
	tokens      float64
	last        time.Time
	bannedUntil time.Time
}

func newLimiter(l Limits, now func() time.Time) *limiter {
	return &limiter{rate: l.SourceRate, burst: float64(l.SourceBurst), banFor: l.BanFor, now: now, sources: map[netip.Addr]*bucket{}}
}

// allow takes a token for a request from addr; false means drop it (the
// source is over its rate, which bans it, or already banned).
func (l *limiter) allow(addr netip.Addr) bool {
	if l.rate < 0 {
		return true
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.sources[addr]
	if b == nil {
		if len(l.sources) >= maxSources {
			l.forgetIdle(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.sources[addr] = b
	}
	if now.Before(b.bannedUntil) {
		l.limited.Add(1)
		return false
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		b.bannedUntil = now.Add(l.banFor)
		l.bans.Add(1)
		l.limited.Add(1)
		return false
	}
	b.tokens--
	return true
}

// forgetIdle drops sources that are full again and not banned (mu held).
func (l *limiter) forgetIdle(now time.Time) {
	for a, b := range l.sources {
		if now.After(b.bannedUntil) && b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.sources, a)
		}
	}
}

// banned counts the sources banned now.
func (l *limiter) banned() int {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, b := range l.sources {
		if now.Before(b.bannedUntil) {
			n++
		}
	}
	return n
}

// screen sees every datagram or stream chunk before it is parsed. It drops
// what banned sources send, and INVITEs and REGISTERs from sources outside
// every trunk's inbound_cidrs past their rate (which bans them).
func (s *Server) screen(info sipmsg.TransportReadProps, data []byte) ([]byte, error) {
	src := addrOf(info.RemoteAddr)
	if !src.IsValid() || s.limiter.rate < 0 {
		return data, nil
	}
	if !bytes.HasPrefix(data, []byte("INVITE ")) && !bytes.HasPrefix(data, []byte("REGISTER ")) {
		if s.limiter.isBanned(src) {
			s.limiter.limited.Add(1)
			return nil, nil
		}
		return data, nil
	}
	if s.fromTrunk(src) || s.limiter.allow(src) {
		return data, nil
	}
	return nil, nil // an empty result drops it, unanswered
}

// fromTrunk reports whether addr is inside a trunk's inbound_cidrs.
func (s *Server) fromTrunk(addr netip.Addr) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	trunks, nets, err := s.loadTrunks(ctx)
	if err != nil {
		return false
	}
	_, ok := trunkByAddr(trunks, nets, addr)
	return ok
}

// addrOf is the IP of a transport address.
func addrOf(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.UDPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	case *net.TCPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
}

// isBanned reports whether addr is banned now.
func (l *limiter) isBanned(addr netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.sources[addr]
	return b != nil && l.now().Before(b.bannedUntil)
}

// Stats are the SIP server's abuse and capacity counters.
type Stats struct {
	Limited   uint64 // requests dropped: over a source's rate, or from a banned source
	Bans      uint64 // sources banned
	Banned    int    // sources banned now
	TrunkFull uint64 // calls refused at a trunk's max_concurrent_calls
	OrgFull   uint64 // calls refused at an organization's cap
	LiveCalls int    // calls in progress
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	live := len(s.calls)
	s.mu.Unlock()
	return Stats{Limited: s.limiter.limited.Load(), Bans: s.limiter.bans.Load(), Banned: s.limiter.banned(),
		TrunkFull: s.refusedTrunkFull.Load(), OrgFull: s.refusedOrgFull.Load(), LiveCalls: live}
}
