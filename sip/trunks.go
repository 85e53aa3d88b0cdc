package sip

import (
	"context"
	"net/netip"
	"sync"

	"github.com/voxgate/voxgate/session"
)

// trunkCache keeps the trunks for matching sources, reloaded when the
// manager's trunk version changes.
type trunkCache struct {
	mu      sync.Mutex
	version uint64
	loaded  bool
	trunks  []session.Trunk
	nets    [][]netip.Prefix
}

// loadTrunks returns the trunks and their parsed inbound CIDRs, reloading
// them when they changed.
func (s *Server) loadTrunks(ctx context.Context) ([]session.Trunk, [][]netip.Prefix, error) {
	c := &s.trunks
	c.mu.Lock()
	defer c.mu.Unlock()
	if v := s.sessions.TrunksVersion(); !c.loaded || v != c.version {
		all, err := s.sessions.AllTrunks(ctx)
		if err != nil {
			return nil, nil, err
		}
		c.trunks, c.nets, c.version, c.loaded = all, make([][]netip.Prefix, len(all)), v, true
		for i, t := range all {
			for _, cidr := range t.InboundCIDRs {
				if p, err := netip.ParsePrefix(cidr); err == nil {
					c.nets[i] = append(c.nets[i], p)
				}
			}
		}
	}
	return c.trunks, c.nets, nil
}

// trunkByAddr returns the trunk whose inbound_cidrs hold addr.
func trunkByAddr(trunks []session.Trunk, nets [][]netip.Prefix, addr netip.Addr) (session.Trunk, bool) {
	for i, ns := range nets {
		for _, p := range ns {
			if p.Contains(addr) {
				return trunks[i], true
			}
		}
	}
	return session.Trunk{}, false
}

// hasCredentials reports whether any trunk takes digest authentication.
func hasCredentials(trunks []session.Trunk) bool {
	for _, t := range trunks {
		if t.Username != "" && t.Password != "" {
			return true
		}
	}
	return false
}

// reserve counts a call against its trunk's max_concurrent_calls; false
// when the trunk is full.
func (s *Server) reserve(t session.Trunk) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.MaxConcurrentCalls > 0 && s.perTrunk[t.ID] >= t.MaxConcurrentCalls {
		return false
	}
	s.perTrunk[t.ID]++
	return true
}

// release gives back a call reserved on a trunk.
func (s *Server) release(trunkID string) {
	if trunkID == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perTrunk[trunkID]--; s.perTrunk[trunkID] <= 0 {
		delete(s.perTrunk, trunkID)
	}
}
