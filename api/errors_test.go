package api_test

import (
	"strings"
	"testing"

	"github.com/voxgate/voxgate/store/storetest"
)

func TestBadRequests(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e storetest.Engine) {
		g := startGateway(t, e.Config(t), options{})
		key := g.key(true)
		for _, tc := range []struct {
			name, method, path, body string
			headers                  []header
			status                   int
			code, param              string
		}{
			{"bad json", "POST", "/v1/sessions", `{"mode":`, nil, 422, "invalid_json", ""},
			{"not an object", "POST", "/v1/sessions", `["mode"]`, nil, 400, "invalid_request", ""},
			{"mode of wrong type", "POST", "/v1/sessions", `{"mode":7}`, nil, 400, "invalid_request", "mode"},
			{"metadata of wrong type", "POST", "/v1/sessions", `{"mode":"media_stream","recording":{"enabled":"yes"}}`, nil, 400, "invalid_request", "recording.enabled"},
			{"missing mode", "POST", "/v1/sessions", `{}`, nil, 400, "invalid_request", "mode"},
			{"empty body", "POST", "/v1/sessions", ``, nil, 400, "invalid_request", "mode"},
			{"unknown mode", "POST", "/v1/sessions", `{"mode":"karaoke"}`, nil, 400, "invalid_request", "mode"},
			{"no content type", "POST", "/v1/sessions", `{"mode":"media_stream"}`, []header{{"Content-Type", ""}}, 415, "unsupported_media_type", ""},
			{"wrong content type", "POST", "/v1/sessions", `{"mode":"media_stream"}`, []header{{"Content-Type", "text/plain"}}, 415, "unsupported_media_type", ""},
			{"oversized body", "POST", "/v1/sessions", `{"mode":"media_stream","metadata":{"x":"` + strings.Repeat("a", 1<<20) + `"}}`, nil, 413, "body_too_large", ""},
			{"limit 0", "GET", "/v1/agents?limit=0", "", nil, 400, "invalid_request", "limit"},
			{"limit 101", "GET", "/v1/agents?limit=101", "", nil, 400, "invalid_request", "limit"},
			{"limit not a number", "GET", "/v1/agents?limit=ten", "", nil, 400, "invalid_request", "limit"},
			{"bad cursor", "GET", "/v1/agents?starting_after=sess_01JD3ZZZZZZZZZZZZZZZZZZZZZ", "", nil, 400, "invalid_cursor", "starting_after"},
			{"garbage cursor", "GET", "/v1/agents?ending_before=%27%3B--", "", nil, 400, "invalid_cursor", "ending_before"},
			{"both cursors", "GET", "/v1/agents?starting_after=agt_01JD3ZZZZZZZZZZZZZZZZZZZZZ&ending_before=agt_01JD3ZZZZZZZZZZZZZZZZZZZZZ", "", nil, 400, "invalid_request", "ending_before"},
			{"unknown route", "GET", "/v1/nothing", "", nil, 404, "route_not_found", ""},
			{"unknown session", "GET", "/v1/sessions/sess_01JD3ZZZZZZZZZZZZZZZZZZZZZ", "", nil, 404, "session_not_found", ""},
			{"unknown agent", "PATCH", "/v1/agents/agt_01JD3ZZZZZZZZZZZZZZZZZZZZZ", `{"name":"x"}`, nil, 404, "agent_not_found", ""},
			{"wrong method", "DELETE", "/v1/sessions", "", nil, 405, "method_not_allowed", ""},
			{"long idempotency key", "POST", "/v1/sessions", `{"mode":"media_stream"}`, []header{{"Idempotency-Key", strings.Repeat("k", 256)}}, 400, "invalid_request", "Idempotency-Key"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := g.do(tc.method, tc.path, key, tc.body, tc.headers...).want(t, tc.status)
				if code := r.errorCode(t); code != tc.code {
					t.Fatalf("code %q, want %q: %s", code, tc.code, r.body)
				}
				if p, _ := r.errorField(t, "param").(string); p != tc.param {
					t.Fatalf("param %q, want %q", p, tc.param)
				}
			})
		}
		r := g.do("PUT", "/v1/agents/agt_01JD3ZZZZZZZZZZZZZZZZZZZZZ", key, "").want(t, 405)
		if r.header.Get("Allow") != "GET, PATCH, DELETE, HEAD" {
			t.Fatalf("Allow = %q", r.header.Get("Allow"))
		}
		// A 5xx never leaks internals: closing the store makes every query fail.
		g.store.Close()
		r = g.do("GET", "/v1/agents", key, "").want(t, 500)
		if r.errorCode(t) != "internal_error" || strings.Contains(string(r.body), "sql") {
			t.Fatalf("500 body: %s", r.body)
		}
	})
}
