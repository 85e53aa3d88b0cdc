package cluster

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/store"
)

// owner is what the owners hash holds for a session.
type owner struct {
	Node     string `json:"node"`
	OrgID    string `json:"org"`
	Livemode bool   `json:"live"`
}

// Own records that this node owns a new session (session.Owners), and
// publishes the new load at once so that the next placement sees it.
func (c *Cluster) Own(ctx context.Context, sc store.Scope, sessionID string) {
	c.mu.Lock()
	c.owned[sessionID] = struct{}{}
	c.mu.Unlock()
	data, _ := json.Marshal(owner{Node: c.cfg.NodeID, OrgID: sc.OrgID, Livemode: sc.Livemode})
	if err := c.rdb.HSet(ctx, keyOwners, sessionID, data).Err(); err != nil {
		c.log.Warn("session owner not recorded", zap.String("session_id", sessionID), zap.Error(err))
	}
	if err := c.heartbeat(ctx); err != nil {
		c.log.Warn("heartbeat failed", zap.Error(err))
	}
}

// Disown forgets the owner of an ended session (session.Owners).
func (c *Cluster) Disown(ctx context.Context, sessionID string) {
	c.mu.Lock()
	delete(c.owned, sessionID)
	c.mu.Unlock()
	if err := c.rdb.HDel(context.WithoutCancel(ctx), keyOwners, sessionID).Err(); err != nil {
		c.log.Warn("session owner not removed", zap.String("session_id", sessionID), zap.Error(err))
	}
}

// Elsewhere reports whether another alive node owns the session and that
// node's SIP host (session.Owners); when Redis does not answer it says
// "elsewhere, unknown host", so that the sweeper ends nothing for lack of an
// answer and a call is taken here.
func (c *Cluster) Elsewhere(ctx context.Context, sessionID string) (sipHost string, ok bool) {
	n, ok, err := c.Owner(ctx, sessionID)
	if err != nil {
		return "", true
	}
	if !ok || n.ID == c.cfg.NodeID {
		return "", false
	}
	return n.SIPHost, true
}

// Owner returns the alive node that owns a session; ok is false when none
// does (an ended session, one from before cluster mode, or one whose node
// is lost and not yet reaped).
func (c *Cluster) Owner(ctx context.Context, sessionID string) (n Node, ok bool, err error) {
	raw, err := c.rdb.HGet(ctx, keyOwners, sessionID).Result()
	if errors.Is(err, redis.Nil) {
		return Node{}, false, nil
	}
	if err != nil {
		return Node{}, false, err
	}
	var o owner
	if err := json.Unmarshal([]byte(raw), &o); err != nil {
		return Node{}, false, err
	}
	return c.node(ctx, o.Node)
}

// reapLost declares lost every registered node whose registration expired:
// under a lock only one survivor takes, it ends the node's sessions with
// node_lost (each session.ended event goes to the outbox once, in the
// session's own transaction) and removes the node.
func (c *Cluster) reapLost(ctx context.Context) error {
	ids, err := c.rdb.SMembers(ctx, keyNodes).Result()
	if err != nil {
		return err
	}
	for _, id := range ids {
		if id == c.cfg.NodeID {
			continue
		}
		n, err := c.rdb.Exists(ctx, keyNode+id).Result()
		if err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		got, err := c.rdb.SetNX(ctx, keyLost+id, c.cfg.NodeID, 10*c.cfg.TTL).Result()
		if err != nil {
			return err
		}
		if !got {
			continue // another survivor is on it
		}
		if err := c.endLost(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// endLost ends the sessions of a lost node and forgets the node.
func (c *Cluster) endLost(ctx context.Context, nodeID string) error {
	owners, err := c.rdb.HGetAll(ctx, keyOwners).Result()
	if err != nil {
		return err
	}
	ended := 0
	for sid, raw := range owners {
		var o owner
		if json.Unmarshal([]byte(raw), &o) != nil || o.Node != nodeID {
			continue
		}
		sc := store.Scope{OrgID: o.OrgID, Livemode: o.Livemode}
		if _, err := c.sessions.EndLost(ctx, sc, sid); err != nil && !errors.Is(err, session.ErrNotFound) {
			return err
		}
		// End disowns a session it ended; one already ended is forgotten here.
		if err := c.rdb.HDel(ctx, keyOwners, sid).Err(); err != nil {
			return err
		}
		ended++
	}
	c.log.Warn("node lost: its sessions ended", zap.String("lost_node", nodeID), zap.Int("sessions", ended))
	return c.rdb.SRem(ctx, keyNodes, nodeID).Err()
}
