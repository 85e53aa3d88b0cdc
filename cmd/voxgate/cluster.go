package main

import (
	"errors"
	"net"
	"os"
	"strings"

	"github.com/voxgate/voxgate/cluster"
	"github.com/voxgate/voxgate/id"
)

// resolveCluster checks the cluster settings when --redis-url is set and
// fills the node's defaults.
func (c *Config) resolveCluster() error {
	if c.RedisURL == "" {
		return nil
	}
	if !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		return errors.New("redis_url: cluster mode needs a shared PostgreSQL database: set database_url to postgres://…")
	}
	if c.NodeID == "" {
		host, _ := os.Hostname()
		c.NodeID = strings.ToLower(host + "-" + id.Secret("", 3))
	}
	if c.AdvertiseAddr == "" {
		host, _, _ := net.SplitHostPort(c.HTTPAddr)
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			return errors.New("advertise_addr: required in cluster mode when http_addr listens on every address")
		}
		c.AdvertiseAddr = c.HTTPAddr
	}
	if err := checkHostPort("advertise_addr", c.AdvertiseAddr); err != nil {
		return err
	}
	return c.clusterConfig().Validate()
}

func (c *Config) clusterConfig() cluster.Config {
	return cluster.Config{RedisURL: c.RedisURL, NodeID: c.NodeID, Addr: "http://" + c.AdvertiseAddr, SIPHost: c.SIPHost,
		Capacity: c.NodeCapacity, TTL: c.NodeTTL}
}
