package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/voxgate/voxgate/api"
	"github.com/voxgate/voxgate/id"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/store"
	"github.com/voxgate/voxgate/store/storetest"
)

func TestSessionLifecycle(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e storetest.Engine) {
		g := startGateway(t, e.Config(t), options{})
		key := g.key(true)
		body := `{"mode":"transcription","source_language":"en","recording":{"enabled":true,"channels":"dual"},
			"metadata":{"external_call_id":"call_abc123"},"webhook_url":"https://hooks.example.com/voxgate"}`
		created := g.do("POST", "/v1/sessions", key, body).want(t, 201).json(t)
		sid := created["id"].(string)
		if !id.HasPrefix(sid, id.Session) || created["object"] != "session" || created["status"] != "created" ||
			created["mode"] != "transcription" || created["source_language"] != "en" || created["livemode"] != true {
			t.Fatalf("created: %v", created)
		}
		stream := created["stream"].(map[string]any)
		if stream["url"] != "ws://127.0.0.1:8080/v1/sessions/"+sid+"/connect" || !strings.HasPrefix(stream["token"].(string), "kst_live_") {
			t.Fatalf("stream: %v", stream)
		}
		expires, err := time.Parse(time.RFC3339Nano, stream["expires_at"].(string))
		if err != nil || time.Until(expires) > 5*time.Minute || time.Until(expires) < 4*time.Minute {
			t.Fatalf("stream token expiry %v (%v)", expires, err)
		}
		if created["sip_uri"] != "sip:"+sid+"@127.0.0.1" {
			t.Fatalf("sip_uri = %v", created["sip_uri"])
		}
		if !strings.HasPrefix(created["webhook_secret"].(string), "whsec_") {
			t.Fatal("webhook_secret missing")
		}
		rec := created["recording"].(map[string]any)
		if rec["enabled"] != true || rec["channels"] != "dual" {
			t.Fatalf("recording: %v", rec)
		}
		if created["metadata"].(map[string]any)["external_call_id"] != "call_abc123" {
			t.Fatal("metadata lost")
		}
		for _, f := range []string{"started_at", "ended_at", "duration_seconds", "end_reason"} {
			if v, ok := created[f]; !ok || v != nil {
				t.Fatalf("%s = %v, want null", f, v)
			}
		}

		got := g.do("GET", "/v1/sessions/"+sid, key, "").want(t, 200).json(t)
		if _, has := got["stream"].(map[string]any)["token"]; has {
			t.Fatal("GET shows the stream token")
		}
		if _, has := got["webhook_secret"]; has {
			t.Fatal("GET shows the webhook secret")
		}
		if got["stream"].(map[string]any)["url"] != stream["url"] {
			t.Fatal("GET lost the stream url")
		}

		// Tokens: the first is valid for this session only; a fresh one can be minted.
		token := stream["token"].(string)
		if err := g.sessions.CheckStreamToken(context.Background(), sid, token); err != nil {
			t.Fatalf("minted token rejected: %v", err)
		}
		if err := g.sessions.CheckStreamToken(context.Background(), "sess_01JD3ZZZZZZZZZZZZZZZZZZZZZ", token); err == nil {
			t.Fatal("token accepted for another session")
		}
		fresh := g.do("POST", "/v1/sessions/"+sid+"/stream_tokens", key, "").want(t, 201).json(t)
		if fresh["token"] == token || g.sessions.CheckStreamToken(context.Background(), sid, fresh["token"].(string)) != nil {
			t.Fatalf("fresh token: %v", fresh)
		}

		ended := g.do("POST", "/v1/sessions/"+sid+"/end", key, "").want(t, 200).json(t)
		if ended["status"] != "ended" || ended["end_reason"] != "explicit_end" || ended["ended_at"] == nil || ended["duration_seconds"] == nil {
			t.Fatalf("ended: %v", ended)
		}
		again := g.do("POST", "/v1/sessions/"+sid+"/end", key, "").want(t, 200).json(t)
		if again["ended_at"] != ended["ended_at"] || again["duration_seconds"] != ended["duration_seconds"] {
			t.Fatal("ending twice changed the session")
		}
		r := g.do("POST", "/v1/sessions/"+sid+"/stream_tokens", key, "").want(t, 409)
		if r.errorCode(t) != "session_ended" {
			t.Fatal("wrong code")
		}
		g.do("POST", "/v1/sessions/sess_01JD3ZZZZZZZZZZZZZZZZZZZZZ/end", key, "").want(t, 404)

		// The outbox holds one event per change, in order, with the session as data.
		evs, err := g.store.SessionEvents(context.Background(), sid)
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, ev := range evs {
			types = append(types, ev.Type)
			var data map[string]any
			if err := json.Unmarshal(ev.Data, &data); err != nil || data["id"] != sid {
				t.Fatalf("event data: %s", ev.Data)
			}
			if strings.Contains(string(ev.Data), "whsec_") || strings.Contains(string(ev.Data), "kst_") {
				t.Fatalf("event leaks a secret: %s", ev.Data)
			}
		}
		if strings.Join(types, ",") != "session.created,session.ended" {
			t.Fatalf("events: %v", types)
		}
	})
}

func TestSessionValidation(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e storetest.Engine) {
		g := startGateway(t, e.Config(t), options{})
		key := g.key(true)
		for _, tc := range []struct {
			name, body  string
			code, param string
		}{
			{"unsupported language", `{"mode":"transcription","source_language":"fi"}`, "unsupported_language", "source_language"},
			{"untranslatable pair", `{"mode":"bidirectional_translation","source_language":"en","target_language":"ja"}`, "unsupported_language", "target_language"},
			{"translation without languages", `{"mode":"assistive_translation"}`, "invalid_request", "source_language"},
			{"bad language code", `{"mode":"transcription","source_language":"english!"}`, "invalid_request", "source_language"},
			{"connection routing", `{"mode":"media_stream","routing":{"connection_id":"pcon_01HXYZ"}}`, "unsupported_routing", "routing.connection_id"},
			{"unknown routing type", `{"mode":"media_stream","routing":{"type":"pstn"}}`, "unsupported_routing", "routing.type"},
			{"not our number", `{"mode":"media_stream","routing":{"phone_number":"+14155550199"}}`, "phone_number_not_found", "routing.phone_number"},
			{"malformed number", `{"mode":"media_stream","routing":{"phone_number":"555-0199"}}`, "invalid_request", "routing.phone_number"},
			{"non-X header", `{"mode":"media_stream","routing":{"type":"sip","sip":{"headers":{"Via":"x"}}}}`, "invalid_request", "routing.sip.headers"},
			{"bad direction", `{"mode":"media_stream","routing":{"type":"sip","direction":"sideways"}}`, "invalid_request", "routing.direction"},
			{"metadata array", `{"mode":"media_stream","metadata":[1]}`, "invalid_request", "metadata"},
			{"metadata too big", `{"mode":"media_stream","metadata":{"x":"` + strings.Repeat("a", 8200) + `"}}`, "invalid_request", "metadata"},
			{"bad channels", `{"mode":"media_stream","recording":{"enabled":true,"channels":"quad"}}`, "invalid_request", "recording.channels"},
			{"missing agent", `{"mode":"ai_agent","agent_id":"agt_01JD3ZZZZZZZZZZZZZZZZZZZZZ"}`, "ai_agent_not_found", "agent_id"},
			{"http stream url", `{"mode":"ai_agent","stream_url":"http://bot.example.com"}`, "invalid_request", "stream_url"},
			{"bad protocol", `{"mode":"ai_agent","stream_url":"wss://bot.example.com","stream_protocol":"sip"}`, "invalid_request", "stream_protocol"},
			{"bad webhook", `{"mode":"media_stream","webhook_url":"ftp://x"}`, "invalid_request", "webhook_url"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := g.do("POST", "/v1/sessions", key, tc.body).want(t, 400)
				if c := r.errorCode(t); c != tc.code {
					t.Fatalf("code %s, want %s: %s", c, tc.code, r.body)
				}
				if p := r.errorField(t, "param"); p != tc.param {
					t.Fatalf("param %v, want %s", p, tc.param)
				}
				if r.errorField(t, "type") != "validation_error" {
					t.Fatal("type should be validation_error")
				}
			})
		}
		// What the engines support passes, and every mode can be created. A
		// Spanish-speaking side needs a Spanish recognizer configured.
		g = startGateway(t, e.Config(t), options{session: session.Config{Languages: session.Languages{Transcribe: []string{"en", "es"}}}})
		key = g.key(true)
		for _, body := range []string{
			`{"mode":"bidirectional_translation","source_language":"es","target_language":"en"}`,
			`{"mode":"assistive_translation","source_language":"en","target_language":"es-MX"}`,
			`{"mode":"ai_agent","stream_url":"wss://bot.example.com/ws","stream_protocol":"twilio","stream_auth_token":"s3cret"}`,
			`{"mode":"help_chat_voice"}`,
			`{"mode":"transcription"}`,
			`{"mode":"media_stream","source_language":"fi","routing":{"type":"sip","sip":{"from_uri":"sip:alice@example.com","headers":{"X-Ticket":"42"}},"direction":"inbound"}}`,
		} {
			r := g.do("POST", "/v1/sessions", key, body)
			if r.status != 201 {
				t.Fatalf("%s: %d %s", body, r.status, r.body)
			}
			if strings.Contains(string(r.body), "s3cret") {
				t.Fatal("stream_auth_token echoed")
			}
		}
	})
}

func TestSessionsWithPhoneNumbersAndAgents(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e storetest.Engine) {
		g := startGateway(t, e.Config(t), options{})
		key := g.key(true)
		agent := g.do("POST", "/v1/agents", key, `{"name":"Support","max_duration_seconds":600,"stream_url":"wss://bot.example.com/a"}`).want(t, 201).json(t)
		g.do("POST", "/v1/phone_numbers", key, `{"number":"+14155550100","agent_id":"`+agent["id"].(string)+`"}`).want(t, 201)
		s := g.do("POST", "/v1/sessions", key, `{"mode":"ai_agent","agent_id":"`+agent["id"].(string)+`","routing":{"phone_number":"+14155550100"}}`).want(t, 201).json(t)
		if s["agent_id"] != agent["id"] || s["phone_number"] != "+14155550100" || s["provider"] != "sip" ||
			s["stream_url"] != "wss://bot.example.com/a" || s["stream_protocol"] != "voxgate" {
			t.Fatalf("session: %v", s)
		}
		// Another org's key cannot route to this number.
		o2, _ := g.store.EnsureOrg(context.Background(), id.New(id.Organization), "other")
		v, _ := api.MintKey(context.Background(), g.store, o2.ID, api.NewKeyParams{Scopes: api.Scopes})
		g.do("POST", "/v1/sessions", v.Secret, `{"mode":"media_stream","routing":{"phone_number":"+14155550100"}}`).want(t, 400)
	})
}

func TestConcurrentSessionCap(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e storetest.Engine) {
		g := startGateway(t, e.Config(t), options{session: session.Config{MaxConcurrentSessions: 2}})
		key := g.key(true)
		a := g.do("POST", "/v1/sessions", key, `{"mode":"media_stream"}`).want(t, 201).json(t)
		g.do("POST", "/v1/sessions", key, `{"mode":"media_stream"}`).want(t, 201)
		r := g.do("POST", "/v1/sessions", key, `{"mode":"media_stream"}`).want(t, 429)
		if r.errorCode(t) != "concurrent_session_limit" || r.header.Get("Retry-After") == "" {
			t.Fatalf("cap: %s", r.body)
		}
		g.do("POST", "/v1/sessions/"+a["id"].(string)+"/end", key, "").want(t, 200)
		g.do("POST", "/v1/sessions", key, `{"mode":"media_stream"}`).want(t, 201)
		// An organization's own cap wins over the default.
		if err := g.store.SetOrgSessionLimit(context.Background(), g.orgID, 5); err != nil {
			t.Fatal(err)
		}
		g.do("POST", "/v1/sessions", key, `{"mode":"media_stream"}`).want(t, 201)
	})
}

func TestIdleTimeoutEndsSessions(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e storetest.Engine) {
		g := startGateway(t, e.Config(t), options{session: session.Config{IdleTimeout: 10 * time.Minute}})
		key := g.key(true)
		base := time.Now()
		var clock atomicTime
		clock.set(base)
		g.store.SetClock(clock.now)
		old := g.do("POST", "/v1/sessions", key, `{"mode":"media_stream"}`).want(t, 201).json(t)
		clock.set(base.Add(6 * time.Minute))
		young := g.do("POST", "/v1/sessions", key, `{"mode":"media_stream"}`).want(t, 201).json(t)
		clock.set(base.Add(11 * time.Minute))
		n, err := g.sessions.Sweep(context.Background())
		if err != nil || n != 1 {
			t.Fatalf("sweep ended %d (%v), want 1", n, err)
		}
		got := g.do("GET", "/v1/sessions/"+old["id"].(string), key, "").want(t, 200).json(t)
		if got["status"] != "ended" || got["end_reason"] != "idle_timeout" {
			t.Fatalf("idle session: %v", got)
		}
		if g.do("GET", "/v1/sessions/"+young["id"].(string), key, "").json(t)["status"] != "created" {
			t.Fatal("the young session was ended")
		}
		// Activity keeps a session alive: activating it counts.
		if _, err := g.sessions.Activate(context.Background(), store.Scope{OrgID: g.orgID, Livemode: true}, young["id"].(string)); err != nil {
			t.Fatal(err)
		}
		clock.set(base.Add(16 * time.Minute))
		if n, _ := g.sessions.Sweep(context.Background()); n != 0 {
			t.Fatalf("sweep at +16m ended %d sessions; the activated one was active at +11m", n)
		}
		clock.set(base.Add(22 * time.Minute))
		if n, _ := g.sessions.Sweep(context.Background()); n != 1 {
			t.Fatalf("sweep at +22m ended %d sessions, want 1", n)
		}
		got = g.do("GET", "/v1/sessions/"+young["id"].(string), key, "").want(t, 200).json(t)
		if got["end_reason"] != "idle_timeout" || got["started_at"] == nil || got["duration_seconds"].(float64) != 660 {
			t.Fatalf("activated session after idling: %v", got)
		}
		evs, _ := g.store.SessionEvents(context.Background(), young["id"].(string))
		if len(evs) != 3 || evs[1].Type != "session.started" || evs[2].Type != "session.ended" {
			t.Fatalf("events: %v", evs)
		}
	})
}
