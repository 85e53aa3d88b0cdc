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

// byAddr returns the trunk whose inbound_cidrs hold addr.
func (s *Server) trunkByAddr(ctx context.Context, addr netip.Addr) (session.Trunk, bool, error) {
	c := &s.trunks
	c.mu.Lock()
	defer c.mu.Unlock()
	if v := s.sessions.TrunksVersion(); !c.loaded || v != c.version {
		all, err := s.sessions.AllTrunks(ctx)
		if err != nil {
			return session.Trunk{}, false, err
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
	for i, nets := range c.nets {
		for _, p := range nets {
			if p.Contains(addr) {
				return c.trunks[i], true, nil
			}
		}
	}
	return session.Trunk{}, false, nil
}
