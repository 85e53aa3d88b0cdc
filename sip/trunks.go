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

// slot is what a call counts against: its trunk's max_concurrent_calls (no
// trunk when dialed straight to a URI) and its organization's cap.
type slot struct {
	trunkID  string
	maxTrunk int
	orgID    string
}

// slotOf is the slot of a call through trunk t.
func slotOf(t session.Trunk) slot {
	return slot{trunkID: t.ID, maxTrunk: t.MaxConcurrentCalls, orgID: t.Scope.OrgID}
}

// reserve counts a call against its trunk and organization. It returns 0,
// or the SIP status refusing the call: 503 for a full trunk (a carrier
// tries another route), 486 for an organization at its cap.
func (s *Server) reserve(sl slot) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sl.maxTrunk > 0 && s.perTrunk[sl.trunkID] >= sl.maxTrunk {
		s.refusedTrunkFull.Add(1)
		return 503
	}
	if max := s.cfg.Limits.MaxCallsPerOrg; max > 0 && s.perOrg[sl.orgID] >= max {
		s.refusedOrgFull.Add(1)
		return 486
	}
	if sl.trunkID != "" {
		s.perTrunk[sl.trunkID]++
	}
	s.perOrg[sl.orgID]++
	return 0
}

// release gives back a reserved slot.
func (s *Server) release(sl slot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sl.trunkID != "" {
		if s.perTrunk[sl.trunkID]--; s.perTrunk[sl.trunkID] <= 0 {
			delete(s.perTrunk, sl.trunkID)
		}
	}
	if s.perOrg[sl.orgID]--; s.perOrg[sl.orgID] <= 0 {
		delete(s.perOrg, sl.orgID)
	}
}
