package api_test

import (
	"context"
	"sync"
	"testing"

	"github.com/voxgate/voxgate/store"
	"github.com/voxgate/voxgate/store/storetest"
)

func TestIdempotencyReplay(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e storetest.Engine) {
		g := startGateway(t, e.Config(t), options{})
		key := g.key(true)
		first := g.do("POST", "/v1/sessions", key, `{"mode":"media_stream","metadata":{"a":1,"b":2}}`, header{"Idempotency-Key", "create-1"}).want(t, 201)
		if first.header.Get("Idempotency-Replayed") != "" {
			t.Fatal("first response marked replayed")
		}
		// Same request with keys in another order and other spacing: a replay, byte for byte.
		again := g.do("POST", "/v1/sessions", key, `{ "metadata": {"b":2, "a":1}, "mode": "media_stream" }`, header{"Idempotency-Key", "create-1"}).want(t, 201)
		if string(again.body) != string(first.body) || again.header.Get("Idempotency-Replayed") != "true" {
			t.Fatalf("replay differs:\n%s\n%s", first.body, again.body)
		}
		if again.header.Get("X-Request-ID") == first.header.Get("X-Request-ID") {
			t.Fatal("a replay still gets its own request ID")
		}
		r := g.do("POST", "/v1/sessions", key, `{"mode":"transcription"}`, header{"Idempotency-Key", "create-1"}).want(t, 400)
		if r.errorCode(t) != "idempotency_mismatch" {
			t.Fatal("mismatch not detected")
		}
		// The same key on another route is another request too.
		g.do("POST", "/v1/agents", key, `{"mode":"media_stream"}`, header{"Idempotency-Key", "create-1"}).want(t, 400)
		// Errors are replayed as well (4xx), so a retry gets the same answer.
		bad := g.do("POST", "/v1/sessions", key, `{"mode":"nope"}`, header{"Idempotency-Key", "bad-1"}).want(t, 400)
		badAgain := g.do("POST", "/v1/sessions", key, `{"mode":"nope"}`, header{"Idempotency-Key", "bad-1"}).want(t, 400)
		if compactJSON(t, bad.body) != compactJSON(t, badAgain.body) || badAgain.header.Get("Idempotency-Replayed") != "true" {
			t.Fatal("error response not replayed")
		}
		// Keys are per organization and mode: a test key with the same key runs anew.
		g.do("POST", "/v1/sessions", g.key(false), `{"mode":"media_stream","metadata":{"a":1,"b":2}}`, header{"Idempotency-Key", "create-1"}).want(t, 201)
		// End honours the key; its replay is the first answer.
		sid := first.json(t)["id"].(string)
		end1 := g.do("POST", "/v1/sessions/"+sid+"/end", key, "", header{"Idempotency-Key", "end-1"}).want(t, 200)
		end2 := g.do("POST", "/v1/sessions/"+sid+"/end", key, "", header{"Idempotency-Key", "end-1"}).want(t, 200)
		if string(end1.body) != string(end2.body) || end2.header.Get("Idempotency-Replayed") != "true" {
			t.Fatal("end not replayed")
		}
	})
}

func TestIdempotencyConcurrentDuplicates(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e storetest.Engine) {
		g := startGateway(t, e.Config(t), options{})
		key := g.key(true)
		const n = 12
		var wg sync.WaitGroup
		results := make([]response, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = g.do("POST", "/v1/sessions", key, `{"mode":"media_stream"}`, header{"Idempotency-Key", "race"})
			}()
		}
		wg.Wait()
		ids := map[string]bool{}
		created := 0
		for _, r := range results {
			switch r.status {
			case 201:
				ids[r.json(t)["id"].(string)] = true
				if r.header.Get("Idempotency-Replayed") == "" {
					created++
				}
			case 409:
				if r.errorCode(t) != "idempotency_conflict" || r.header.Get("Retry-After") == "" {
					t.Fatalf("409: %s", r.body)
				}
			default:
				t.Fatalf("status %d: %s", r.status, r.body)
			}
		}
		if created != 1 || len(ids) != 1 {
			t.Fatalf("%d requests created sessions, %d distinct ids; want exactly one", created, len(ids))
		}
		// Exactly one session exists: one session.created event in the outbox.
		for sid := range ids {
			evs, err := g.store.SessionEvents(context.Background(), sid)
			if err != nil || len(evs) != 1 {
				t.Fatalf("events for the one session: %d (%v)", len(evs), err)
			}
		}
		var live int
		err := g.store.Update(context.Background(), func(tx *store.Tx) (err error) {
			live, err = tx.CountLiveSessions(g.orgID)
			return err
		})
		if err != nil || live != 1 {
			t.Fatalf("%d sessions exist (%v), want 1", live, err)
		}
	})
}
