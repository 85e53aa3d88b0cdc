package cluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/voxgate/voxgate/cluster/clustertest"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/store"
	"github.com/voxgate/voxgate/store/storetest"
)

// node is one cluster member over its own session manager.
type node struct {
	*Cluster
	sessions *session.Manager
	stop     context.CancelFunc
}

func join(t *testing.T, st *store.Store, redisURL, id string, capacity int) node {
	t.Helper()
	m, err := session.NewManager(session.Config{PublicURL: "http://" + id + ".invalid", SIPHost: id + ".invalid"}, st, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c, err := New(ctx, Config{RedisURL: redisURL, NodeID: id, Addr: "http://" + id + ".invalid", Capacity: capacity, TTL: 600 * time.Millisecond}, m, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	m.SetOwners(c)
	go c.Run(ctx)
	t.Cleanup(func() { cancel(); _ = c.rdb.Close() })
	return node{c, m, cancel}
}

// TestPlacementOwnershipAndLoss: a new session goes to the node with room,
// a draining node takes none, any node finds a session's owner, and when
// the owner stops heartbeating one survivor ends its sessions with
// node_lost, with one session.ended event.
func TestPlacementOwnershipAndLoss(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url := clustertest.Redis(t)
	st := storetest.OpenConfig(t, store.Config{DataDir: t.TempDir()})
	a := join(t, st, url, "a", 10)
	b := join(t, st, url, "b", 1000)
	c := join(t, st, url, "c", 10)

	if n, ok, err := a.Pick(ctx); err != nil || !ok || n.ID != "b" {
		t.Fatalf("placement picked %v %v %v, want b (most room)", n.ID, ok, err)
	}
	org, err := st.EnsureOrg(ctx, "org_test", "test")
	if err != nil {
		t.Fatal(err)
	}
	sc := store.Scope{OrgID: org.ID, Livemode: true}
	sess, err := b.sessions.Create(ctx, sc, session.CreateParams{Mode: "media_stream"})
	if err != nil {
		t.Fatal(err)
	}
	if n, ok, err := c.Owner(ctx, sess.ID); err != nil || !ok || n.ID != "b" || n.Sessions != 1 {
		t.Fatalf("owner seen from c: %+v %v %v", n, ok, err)
	}

	b.Drain(ctx)
	if n, _, _ := a.Pick(ctx); n.ID != "a" {
		t.Fatalf("placement with b draining picked %s, want a (first of equals)", n.ID)
	}

	// b dies: no more heartbeats, no goodbye.
	b.stop()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := a.sessions.Get(ctx, sc, sess.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Ended() {
			if *got.EndReason != session.EndNodeLost {
				t.Fatalf("end_reason %s, want node_lost", *got.EndReason)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("b's session not ended 10 s after b stopped")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second) // the other survivor's checks come and go
	events, err := st.SessionEvents(ctx, sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	ended := 0
	for _, e := range events {
		if e.Type == session.EventSessionEnded {
			ended++
		}
	}
	if ended != 1 {
		t.Fatalf("%d session.ended events, want 1", ended)
	}
	nodes, err := c.Nodes(ctx)
	if err != nil || len(nodes) != 2 {
		t.Fatalf("nodes after the loss: %+v %v", nodes, err)
	}
	if _, ok, _ := a.Owner(ctx, sess.ID); ok {
		t.Fatal("the ended session still has an owner")
	}
}

// TestRateLimitAcrossNodes: one key's budget is shared by every node.
func TestRateLimitAcrossNodes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url := clustertest.Redis(t)
	st := storetest.OpenConfig(t, store.Config{DataDir: t.TempDir()})
	nodes := []node{join(t, st, url, "a", 0), join(t, st, url, "b", 0)}
	for attempt := 0; ; attempt++ {
		key := fmt.Sprintf("key_%d", attempt)
		allowed := 0
		resets := map[time.Time]bool{}
		for i := range 7 {
			ok, remaining, reset := nodes[i%2].Take(ctx, key, 5)
			resets[reset] = true
			if ok {
				allowed++
				if remaining != 5-allowed {
					t.Fatalf("request %d: remaining %d, want %d", i+1, remaining, 5-allowed)
				}
			}
		}
		if len(resets) > 1 && attempt == 0 {
			continue // a minute turned in between: count again
		}
		if allowed != 5 {
			t.Fatalf("%d of 7 allowed across two nodes, want 5", allowed)
		}
		return
	}
}
