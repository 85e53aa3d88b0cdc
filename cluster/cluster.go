// Package cluster runs voxgate as one node of several that share PostgreSQL
// (state, outbox, idempotency) and Redis: each node registers itself with
// its addresses and load, renewed by a heartbeat with a TTL; new sessions
// are placed on the least-loaded healthy node; requests about a live
// session are forwarded to the node that owns it; rate limits are counted
// across nodes; and a node that stops heartbeating is declared lost by one
// survivor, which ends its sessions with end_reason node_lost.
package cluster

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httputil"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/store"
)

// Redis keys, all under one prefix.
const (
	keyNodes  = "voxgate:nodes"  // set of node IDs ever registered and not yet declared lost
	keyNode   = "voxgate:node:"  // + node ID: the node's registration (JSON), expiring after the TTL
	keyOwners = "voxgate:owners" // hash: session ID → owner (JSON)
	keySecret = "voxgate:secret" // the secret nodes forward requests to each other with
	keyLost   = "voxgate:lost:"  // + node ID: the lock of the survivor that ends a lost node's sessions
	keyRate   = "voxgate:rate:"  // + API key ID + ":" + window: requests counted in that minute
)

// Config configures a node. Zero values take the defaults on each field.
type Config struct {
	// RedisURL is redis://[user:pass@]host:port[/db]. Required.
	RedisURL string
	// NodeID names this node (unique in the cluster). Required.
	NodeID string
	// Addr is the base URL other nodes reach this node's HTTP API at
	// (http://10.0.0.5:8080). Required.
	Addr string
	// SIPHost is the host[:port] in this node's sip_uri.
	SIPHost string
	// Capacity is how many sessions and calls this node is sized for:
	// placement picks the node with the most room left. Default 1000.
	Capacity int
	// TTL is how long a registration outlives its last heartbeat; a node
	// silent for longer is lost. Heartbeats come every TTL/3. Default 10s.
	TTL time.Duration
}

func (c *Config) setDefaults() {
	if c.Capacity == 0 {
		c.Capacity = 1000
	}
	if c.TTL == 0 {
		c.TTL = 10 * time.Second
	}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	switch {
	case c.RedisURL == "":
		return errors.New("redis_url: required")
	case c.NodeID == "":
		return errors.New("node_id: required")
	case c.Addr == "":
		return errors.New("advertise_addr: required")
	case c.Capacity < 0:
		return errors.New("node_capacity: must not be negative")
	case c.TTL < 0 || (c.TTL > 0 && c.TTL < 300*time.Millisecond):
		return errors.New("node_ttl: must be at least 300ms")
	}
	if _, err := redis.ParseURL(c.RedisURL); err != nil {
		return errors.New("redis_url: not a redis:// URL")
	}
	return nil
}

// Node is a node's registration: where it is and how loaded.
type Node struct {
	ID       string    `json:"id"`
	Addr     string    `json:"addr"`
	SIPHost  string    `json:"sip_host"`
	Capacity int       `json:"capacity"`
	Sessions int       `json:"sessions"` // sessions owned (created here and not ended)
	Calls    int       `json:"calls"`    // call legs connected
	CPU      float64   `json:"cpu"`      // share of all cores used by the process since the last heartbeat
	Draining bool      `json:"draining"`
	Seen     time.Time `json:"seen"`
}

// room is how many more sessions and calls the node is sized for.
func (n Node) room() int { return n.Capacity - n.Sessions - n.Calls }

// load is the share of the node's capacity in use.
func (n Node) load() float64 {
	return float64(n.Sessions+n.Calls) / float64(max(n.Capacity, 1))
}

// Sessions is what a node needs from its session manager.
type Sessions interface {
	EndLost(ctx context.Context, sc store.Scope, sessionID string) (session.Session, error)
	Metrics() session.Metrics
}

// Cluster is this node's membership of the cluster.
type Cluster struct {
	cfg      Config
	rdb      *redis.Client
	sessions Sessions
	log      *zap.Logger
	secret   string
	draining atomic.Bool
	proxy    *httputil.ReverseProxy

	mu    sync.Mutex
	owned map[string]struct{} // sessions owned by this node
	cpu   cpuMeter
}

// New connects to Redis and registers this node.
func New(ctx context.Context, cfg Config, sessions Sessions, log *zap.Logger) (*Cluster, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	opts, _ := redis.ParseURL(cfg.RedisURL)
	c := &Cluster{cfg: cfg, rdb: redis.NewClient(opts), sessions: sessions, log: log, owned: map[string]struct{}{}}
	c.proxy = c.newProxy()
	secret := make([]byte, 24)
	_, _ = rand.Read(secret)
	if err := c.rdb.SetNX(ctx, keySecret, hex.EncodeToString(secret), 0).Err(); err != nil {
		_ = c.rdb.Close()
		return nil, fmt.Errorf("redis: %w", err)
	}
	s, err := c.rdb.Get(ctx, keySecret).Result()
	if err != nil {
		_ = c.rdb.Close()
		return nil, fmt.Errorf("redis: %w", err)
	}
	c.secret = s
	if err := c.heartbeat(ctx); err != nil {
		_ = c.rdb.Close()
		return nil, fmt.Errorf("redis: %w", err)
	}
	return c, nil
}

// ID is this node's ID.
func (c *Cluster) ID() string { return c.cfg.NodeID }

// Run renews the registration and looks for lost nodes every TTL/3 until
// ctx is done.
func (c *Cluster) Run(ctx context.Context) {
	t := time.NewTicker(c.cfg.TTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := c.heartbeat(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("heartbeat failed", zap.Error(err))
		}
		if err := c.reapLost(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("lost node check failed", zap.Error(err))
		}
	}
}

// Drain stops new sessions from being placed here, cluster-wide at once.
func (c *Cluster) Drain(ctx context.Context) {
	c.draining.Store(true)
	if err := c.heartbeat(ctx); err != nil {
		c.log.Warn("draining not registered", zap.Error(err))
	}
}

// Leave removes this node's registration (after a drain) so it is not
// declared lost, and closes the Redis connection.
func (c *Cluster) Leave(ctx context.Context) {
	pipe := c.rdb.TxPipeline()
	pipe.SRem(ctx, keyNodes, c.cfg.NodeID)
	pipe.Del(ctx, keyNode+c.cfg.NodeID)
	if _, err := pipe.Exec(ctx); err != nil {
		c.log.Warn("leaving the cluster", zap.Error(err))
	}
	_ = c.rdb.Close()
}

// self is this node's registration as of now.
func (c *Cluster) self() Node {
	m := c.sessions.Metrics()
	c.mu.Lock()
	owned := len(c.owned)
	cpu := c.cpu.sample()
	c.mu.Unlock()
	return Node{ID: c.cfg.NodeID, Addr: c.cfg.Addr, SIPHost: c.cfg.SIPHost, Capacity: c.cfg.Capacity,
		Sessions: owned, Calls: m.Legs, CPU: cpu, Draining: c.draining.Load(), Seen: time.Now().UTC()}
}

func (c *Cluster) heartbeat(ctx context.Context) error {
	data, err := json.Marshal(c.self())
	if err != nil {
		return err
	}
	pipe := c.rdb.TxPipeline()
	pipe.Set(ctx, keyNode+c.cfg.NodeID, data, c.cfg.TTL)
	pipe.SAdd(ctx, keyNodes, c.cfg.NodeID)
	_, err = pipe.Exec(ctx)
	return err
}

// Nodes returns the registered nodes (alive: heartbeating within the TTL),
// sorted by ID.
func (c *Cluster) Nodes(ctx context.Context) ([]Node, error) {
	ids, err := c.rdb.SMembers(ctx, keyNodes).Result()
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	slices.Sort(ids)
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = keyNode + id
	}
	vals, err := c.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, err
	}
	var out []Node
	for _, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue // expired: lost, or about to be declared so
		}
		var n Node
		if json.Unmarshal([]byte(s), &n) == nil {
			out = append(out, n)
		}
	}
	return out, nil
}

// node returns one alive node's registration.
func (c *Cluster) node(ctx context.Context, id string) (Node, bool, error) {
	s, err := c.rdb.Get(ctx, keyNode+id).Result()
	if errors.Is(err, redis.Nil) {
		return Node{}, false, nil
	}
	if err != nil {
		return Node{}, false, err
	}
	var n Node
	if err := json.Unmarshal([]byte(s), &n); err != nil {
		return Node{}, false, err
	}
	return n, true, nil
}

// Pick returns the node a new session goes to: of the alive nodes not
// draining, the one with the most room left (capacity less sessions and
// calls: the fewest sessions when capacities are equal), then the smallest
// share of its capacity in use, then the least CPU, then the first ID. ok is
// false when every node is draining.
func (c *Cluster) Pick(ctx context.Context) (n Node, ok bool, err error) {
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return Node{}, false, err
	}
	nodes = slices.DeleteFunc(nodes, func(n Node) bool { return n.Draining })
	if len(nodes) == 0 {
		return Node{}, false, nil
	}
	return slices.MinFunc(nodes, func(a, b Node) int {
		if fa, fb := a.room(), b.room(); fa != fb {
			return fb - fa
		}
		if c := cmp.Compare(a.load(), b.load()); c != 0 {
			return c
		}
		return cmp.Compare(a.CPU, b.CPU) // then sorted by ID: the first wins
	}), true, nil
}

// cpuMeter measures the process's CPU use between samples.
type cpuMeter struct {
	lastWall time.Time
	lastCPU  time.Duration
}

// sample returns the share of all cores used since the previous sample.
func (m *cpuMeter) sample() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	now := time.Now()
	share := 0.0
	if wall := now.Sub(m.lastWall); !m.lastWall.IsZero() && wall > 0 {
		share = float64(cpu-m.lastCPU) / float64(wall) / float64(runtime.NumCPU())
	}
	m.lastWall, m.lastCPU = now, cpu
	return float64(int(share*1000)) / 1000
}
