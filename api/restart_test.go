package api_test

import (
	"testing"

	"github.com/voxgate/voxgate/store/storetest"
)

// TestRestartKeepsEverything stops the server and starts another on the same
// data: sessions, keys and idempotency records are all there.
func TestRestartKeepsEverything(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e storetest.Engine) {
		cfg := e.Config(t)
		g := startGateway(t, cfg, options{})
		key := g.key(true)
		revoked := g.key(true, "agents:read")
		first := g.do("POST", "/v1/sessions", key, `{"mode":"media_stream"}`, header{"Idempotency-Key", "before-restart"}).want(t, 201)
		sid := first.json(t)["id"].(string)
		agent := g.do("POST", "/v1/agents", key, `{"name":"Keeper"}`).want(t, 201).json(t)
		keys := g.do("GET", "/v1/api_keys", key, "").want(t, 200).json(t)
		for _, k := range keys["data"].([]any) {
			if k := k.(map[string]any); k["scopes"].([]any)[0] == "agents:read" {
				g.do("DELETE", "/v1/api_keys/"+k["id"].(string), key, "").want(t, 200)
			}
		}
		g.stop()

		h := startGateway(t, cfg, options{})
		got := h.do("GET", "/v1/sessions/"+sid, key, "").want(t, 200).json(t)
		if got["status"] != "created" || got["mode"] != "media_stream" {
			t.Fatalf("session after restart: %v", got)
		}
		h.do("GET", "/v1/agents/"+agent["id"].(string), key, "").want(t, 200)
		h.do("GET", "/v1/agents", revoked, "").want(t, 401)
		replay := h.do("POST", "/v1/sessions", key, `{"mode":"media_stream"}`, header{"Idempotency-Key", "before-restart"}).want(t, 201)
		if string(replay.body) != string(first.body) || replay.header.Get("Idempotency-Replayed") != "true" {
			t.Fatal("idempotency record lost in the restart")
		}
		h.do("POST", "/v1/sessions/"+sid+"/end", key, "").want(t, 200)
	})
}
