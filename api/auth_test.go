package api_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/voxgate/voxgate/api"
	"github.com/voxgate/voxgate/store/storetest"
)

func TestAuthentication(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e storetest.Engine) {
		g := startGateway(t, e.Config(t), options{})
		key := g.key(true)

		g.do("GET", "/v1/agents", "", "").want(t, 401)
		if c := g.do("GET", "/v1/agents", "", "").errorCode(t); c != "invalid_api_key" {
			t.Fatalf("code %s", c)
		}
		g.do("GET", "/v1/agents", "sk_live_nope", "").want(t, 401)
		g.do("GET", "/v1/agents", key+"x", "").want(t, 401)
		g.do("GET", "/v1/agents", "", "", header{"Authorization", "Basic " + key}).want(t, 401)
		g.do("GET", "/v1/agents", key, "").want(t, 200)
		g.do("GET", "/v1/agents", "", "", header{"X-API-Key", key}).want(t, 200)
		// A live key presented with the test prefix is not a key.
		g.do("GET", "/v1/agents", "sk_test_"+key[len("sk_live_"):], "").want(t, 401)
	})
}

func TestRevokedKeyFailsAtOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e storetest.Engine) {
		g := startGateway(t, e.Config(t), options{})
		admin := g.key(true, "admin")
		victim := g.key(true, "agents:read")
		g.do("GET", "/v1/agents", victim, "").want(t, 200)
		list := g.do("GET", "/v1/api_keys", admin, "").want(t, 200).json(t)
		var victimID string
		for _, k := range list["data"].([]any) {
			k := k.(map[string]any)
			if k["secret"] != nil {
				t.Fatal("list shows a secret")
			}
			if k["scopes"].([]any)[0] == "agents:read" {
				victimID = k["id"].(string)
			}
		}
		r := g.do("DELETE", "/v1/api_keys/"+victimID, admin, "").want(t, 200).json(t)
		if r["revoked_at"] == nil {
			t.Fatal("revoked_at not set")
		}
		g.do("GET", "/v1/agents", victim, "").want(t, 401)
		g.do("DELETE", "/v1/api_keys/key_01JD00000000000000000000000", admin, "").want(t, 404)
	})
}

func TestScopes(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e storetest.Engine) {
		g := startGateway(t, e.Config(t), options{})
		reader := g.key(true, "sessions:read")
		writer := g.key(true, "sessions:write")
		r := g.do("POST", "/v1/sessions", reader, `{"mode":"media_stream"}`).want(t, 403)
		if c := r.errorCode(t); c != "insufficient_permissions" {
			t.Fatalf("code %s", c)
		}
		if r.errorField(t, "type") != "permission_error" {
			t.Fatal("wrong error type")
		}
		s := g.do("POST", "/v1/sessions", writer, `{"mode":"media_stream"}`).want(t, 201).json(t)
		// sessions:write grants sessions:read.
		g.do("GET", "/v1/sessions/"+s["id"].(string), writer, "").want(t, 200)
		g.do("GET", "/v1/sessions/"+s["id"].(string), reader, "").want(t, 200)
		g.do("GET", "/v1/agents", reader, "").want(t, 403)
		g.do("GET", "/v1/api_keys", writer, "").want(t, 403)
		g.do("POST", "/v1/phone_numbers", writer, `{"number":"+14155550100"}`).want(t, 403)
	})
}

func TestTestModeIsolation(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e storetest.Engine) {
		g := startGateway(t, e.Config(t), options{})
		live, test := g.key(true), g.key(false)
		s := g.do("POST", "/v1/sessions", live, `{"mode":"media_stream"}`).want(t, 201).json(t)
		sid := s["id"].(string)
		g.do("GET", "/v1/sessions/"+sid, test, "").want(t, 404)
		g.do("POST", "/v1/sessions/"+sid+"/end", test, "").want(t, 404)
		ts := g.do("POST", "/v1/sessions", test, `{"mode":"media_stream"}`).want(t, 201).json(t)
		if ts["livemode"] != false || ts["stream"].(map[string]any)["token"].(string)[:9] != "kst_test_" {
			t.Fatalf("test session: %v", ts)
		}
		g.do("GET", "/v1/sessions/"+ts["id"].(string), live, "").want(t, 404)
		// A test key cannot mint live keys.
		g.do("POST", "/v1/api_keys", test, `{"scopes":["admin"],"livemode":true}`).want(t, 400)
		k := g.do("POST", "/v1/api_keys", test, `{"scopes":["admin"]}`).want(t, 201).json(t)
		if k["livemode"] != false || k["secret"].(string)[:8] != "sk_test_" {
			t.Fatalf("key minted by a test key: %v", k)
		}
	})
}

func TestAPIKeyRoutes(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e storetest.Engine) {
		g := startGateway(t, e.Config(t), options{})
		admin := g.key(true, "admin")
		k := g.do("POST", "/v1/api_keys", admin, `{"name":"ci","scopes":["sessions:write","agents:read"],"rate_limit_per_minute":50}`).want(t, 201).json(t)
		secret := k["secret"].(string)
		if k["object"] != "api_key" || k["hint"] != "sk_live_…"+secret[len(secret)-4:] || k["rate_limit_per_minute"] != 50.0 {
			t.Fatalf("created key: %v", k)
		}
		r := g.do("GET", "/v1/agents", secret, "").want(t, 200)
		if r.header.Get("X-RateLimit-Limit") != "50" {
			t.Fatalf("per-key limit not applied: %s", r.header.Get("X-RateLimit-Limit"))
		}
		g.do("POST", "/v1/api_keys", admin, `{"scopes":["root"]}`).want(t, 400)
		g.do("POST", "/v1/api_keys", admin, `{"scopes":[]}`).want(t, 400)
		lst := g.do("GET", "/v1/api_keys?limit=1", admin, "").want(t, 200).json(t)
		if lst["has_more"] != true || len(lst["data"].([]any)) != 1 || lst["next_cursor"] == nil {
			t.Fatalf("paged list: %v", lst)
		}
	})
}

func TestRateLimit(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e storetest.Engine) {
		g := startGateway(t, e.Config(t), options{})
		start := time.Date(2026, 11, 22, 10, 0, 30, 0, time.UTC) // mid-minute: no window turns over
		var clock atomicTime
		clock.set(start)
		g.store.SetClock(clock.now)
		key := g.keyWith(api.NewKeyParams{Scopes: []string{"agents:read"}, RateLimitPerMinute: 3})
		other := g.key(true, "agents:read")
		for i := range 3 {
			r := g.do("GET", "/v1/agents", key, "").want(t, 200)
			if got := r.header.Get("X-RateLimit-Remaining"); got != strconv.Itoa(2-i) {
				t.Fatalf("remaining = %s after %d requests", got, i+1)
			}
			if r.header.Get("X-RateLimit-Limit") != "3" || r.header.Get("X-RateLimit-Reset") != strconv.FormatInt(start.Unix()+30, 10) {
				t.Fatalf("rate limit headers: %v", r.header)
			}
		}
		r := g.do("GET", "/v1/agents", key, "").want(t, 429)
		if r.errorCode(t) != "rate_limit_exceeded" || r.header.Get("Retry-After") != "30" || r.errorField(t, "retry_after") != 30.0 {
			t.Fatalf("429 without the right Retry-After: %v %s", r.header, r.body)
		}
		if r.header.Get("X-RateLimit-Remaining") != "0" {
			t.Fatal("remaining should be 0")
		}
		g.do("GET", "/v1/agents", other, "").want(t, 200) // limits are per key
		clock.set(start.Add(time.Minute))                 // the next window
		g.do("GET", "/v1/agents", key, "").want(t, 200)
	})
}
