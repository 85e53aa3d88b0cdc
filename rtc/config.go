package rtc

import (
	"errors"
	"fmt"
	"net"
	"time"
)

// Config configures WebRTC legs. Zero values take the documented defaults.
type Config struct {
	// ICEServers are STUN/TURN URLs handed to ICE (stun:host:port, turn:…).
	ICEServers []ICEServer `yaml:"ice_servers"`
	// NAT1To1IPs are public addresses to advertise instead of the host's
	// (a gateway behind 1:1 NAT).
	NAT1To1IPs []string `yaml:"nat_1to1_ips"`
	// PortMin and PortMax bound the UDP ports ICE uses (0: any).
	PortMin uint16 `yaml:"udp_port_min"`
	PortMax uint16 `yaml:"udp_port_max"`
	// LoopbackOnly gathers only loopback candidates (tests, and a gateway
	// that serves browsers on the same machine).
	LoopbackOnly bool `yaml:"loopback_only"`
	// ConnectTimeout ends a peer whose ICE has not connected by then. Default 30s.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
}

// ICEServer is one STUN or TURN server.
type ICEServer struct {
	URLs       []string `yaml:"urls"`
	Username   string   `yaml:"username"`
	Credential string   `yaml:"credential"`
}

func (c *Config) setDefaults() {
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 30 * time.Second
	}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if (c.PortMin == 0) != (c.PortMax == 0) || c.PortMin > c.PortMax {
		return errors.New("udp_port_min, udp_port_max: set both, min ≤ max")
	}
	for _, ip := range c.NAT1To1IPs {
		if net.ParseIP(ip) == nil {
			return fmt.Errorf("nat_1to1_ips: %q is not an IP address", ip)
		}
	}
	for _, s := range c.ICEServers {
		if len(s.URLs) == 0 {
			return errors.New("ice_servers: each server needs urls")
		}
	}
	if c.ConnectTimeout < 0 {
		return errors.New("connect_timeout: must not be negative")
	}
	return nil
}
