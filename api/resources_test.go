package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/voxgate/voxgate/store/storetest"
)

func TestAgentsCRUD(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e storetest.Engine) {
		g := startGateway(t, e.Config(t), options{})
		key := g.key(true)
		body := `{"name":"Support","instructions":"Be kind.","voice":"alloy","language":"en","temperature":0.7,
			"welcome_message":"Hello!","tools":[{"name":"lookup_order","description":"Find an order","parameters":{"type":"object"}}],
			"llm":{"base_url":"http://127.0.0.1:9/v1","model":"tiny","api_key":"sk-secret-llm"},
			"stream_url":"wss://bot.example.com/ws","stream_auth_token":"bot-secret",
			"hangup_after_silence_seconds":20,"max_duration_seconds":900,"metadata":{"team":"a"}}`
		created := g.do("POST", "/v1/agents", key, body).want(t, 201)
		if strings.Contains(string(created.body), "sk-secret-llm") || strings.Contains(string(created.body), "bot-secret") {
			t.Fatalf("secrets echoed: %s", created.body)
		}
		a := created.json(t)
		aid := a["id"].(string)
		llm := a["llm"].(map[string]any)
		if a["object"] != "agent" || a["status"] != "active" || a["stream_protocol"] != "voxgate" || a["stream_auth_token_set"] != true ||
			llm["api_key_set"] != true || llm["model"] != "tiny" || a["tools"].([]any)[0].(map[string]any)["name"] != "lookup_order" {
			t.Fatalf("agent: %v", a)
		}
		got := g.do("GET", "/v1/agents/"+aid, key, "").want(t, 200)
		if compactJSON(t, got.body) != compactJSON(t, created.body) {
			t.Fatalf("GET differs from create:\n%s\n%s", got.body, created.body)
		}
		upd := g.do("PATCH", "/v1/agents/"+aid, key, `{"status":"inactive","voice":"nova"}`).want(t, 200).json(t)
		if upd["status"] != "inactive" || upd["voice"] != "nova" || upd["instructions"] != "Be kind." || upd["stream_auth_token_set"] != true {
			t.Fatalf("patched: %v", upd)
		}
		for _, bad := range []struct{ body, param string }{
			{`{"status":"paused"}`, "status"},
			{`{"temperature":3}`, "temperature"},
			{`{"language":"??"}`, "language"},
			{`{"tools":[{"name":"has space"}]}`, "tools"},
			{`{"llm":{"base_url":"ftp://x","model":"m"}}`, "llm.base_url"},
			{`{"stream_url":"https://x"}`, "stream_url"},
			{`{"max_duration_seconds":-1}`, "max_duration_seconds"},
		} {
			r := g.do("PATCH", "/v1/agents/"+aid, key, bad.body).want(t, 400)
			if r.errorField(t, "param") != bad.param {
				t.Fatalf("%s: param %v", bad.body, r.errorField(t, "param"))
			}
		}
		g.do("POST", "/v1/agents", key, `{"instructions":"no name"}`).want(t, 400)

		// List: pagination and the status filter.
		for i := range 4 {
			g.do("POST", "/v1/agents", key, fmt.Sprintf(`{"name":"a%d"}`, i)).want(t, 201)
		}
		page := g.do("GET", "/v1/agents?limit=2", key, "").want(t, 200).json(t)
		if page["object"] != "list" || page["url"] != "/v1/agents" || page["has_more"] != true || len(page["data"].([]any)) != 2 {
			t.Fatalf("page 1: %v", page)
		}
		next := page["next_cursor"].(string)
		page2 := g.do("GET", "/v1/agents?limit=2&starting_after="+next, key, "").want(t, 200).json(t)
		page3 := g.do("GET", "/v1/agents?limit=2&starting_after="+page2["next_cursor"].(string), key, "").want(t, 200).json(t)
		if page3["has_more"] != false || len(page3["data"].([]any)) != 1 || page3["next_cursor"] != nil {
			t.Fatalf("last page: %v", page3)
		}
		seen := map[string]bool{}
		for _, p := range []map[string]any{page, page2, page3} {
			for _, d := range p["data"].([]any) {
				seen[d.(map[string]any)["id"].(string)] = true
			}
		}
		if len(seen) != 5 {
			t.Fatalf("pages covered %d agents, want 5", len(seen))
		}
		inactive := g.do("GET", "/v1/agents?status=inactive", key, "").want(t, 200).json(t)
		if d := inactive["data"].([]any); len(d) != 1 || d[0].(map[string]any)["id"] != aid {
			t.Fatalf("status filter: %v", inactive)
		}
		g.do("GET", "/v1/agents?status=zombie", key, "").want(t, 400)

		del := g.do("DELETE", "/v1/agents/"+aid, key, "").want(t, 200).json(t)
		if del["deleted"] != true || del["id"] != aid {
			t.Fatalf("delete: %v", del)
		}
		g.do("GET", "/v1/agents/"+aid, key, "").want(t, 404)
		g.do("DELETE", "/v1/agents/"+aid, key, "").want(t, 404)
	})
}

func TestPhoneNumbers(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e storetest.Engine) {
		g := startGateway(t, e.Config(t), options{})
		key := g.key(true)
		agent := g.do("POST", "/v1/agents", key, `{"name":"Desk"}`).want(t, 201).json(t)
		n := g.do("POST", "/v1/phone_numbers", key, `{"number":"+442071838750","agent_id":"`+agent["id"].(string)+`"}`).want(t, 201).json(t)
		if n["object"] != "phone_number" || n["mode"] != "ai_agent" || n["agent_id"] != agent["id"] {
			t.Fatalf("number: %v", n)
		}
		r := g.do("POST", "/v1/phone_numbers", key, `{"number":"+442071838750"}`).want(t, 409)
		if r.errorCode(t) != "phone_number_exists" {
			t.Fatal("duplicate not refused")
		}
		for _, bad := range []string{`{"number":"02071838750"}`, `{"number":"+0123"}`, `{"number":"+1234567890123456"}`, `{}`,
			`{"number":"+14155550100","mode":"dance"}`, `{"number":"+14155550100","agent_id":"agt_01JD3ZZZZZZZZZZZZZZZZZZZZZ"}`,
			`{"number":"+14155550100","stream_url":"http://x"}`} {
			g.do("POST", "/v1/phone_numbers", key, bad).want(t, 400)
		}
		m := g.do("POST", "/v1/phone_numbers", key, `{"number":"+14155550100","mode":"transcription","stream_url":"wss://bot.example.com"}`).want(t, 201).json(t)
		list := g.do("GET", "/v1/phone_numbers", key, "").want(t, 200).json(t)
		if len(list["data"].([]any)) != 2 {
			t.Fatalf("list: %v", list)
		}
		g.do("GET", "/v1/phone_numbers/"+m["id"].(string), key, "").want(t, 200)
		g.do("DELETE", "/v1/phone_numbers/"+m["id"].(string), key, "").want(t, 200)
		g.do("GET", "/v1/phone_numbers/"+m["id"].(string), key, "").want(t, 404)
		// Released numbers can be registered again.
		g.do("POST", "/v1/phone_numbers", key, `{"number":"+14155550100"}`).want(t, 201)
	})
}

func TestHealthReadinessMetrics(t *testing.T) {
	g := startGateway(t, storetest.Engines(t)[0].Config(t), options{})
	g.do("GET", "/healthz", "", "").want(t, 200)
	g.do("GET", "/readyz", "", "").want(t, 200)
	g.do("GET", "/v1/agents", g.key(true), "").want(t, 200)
	m := g.do("GET", "/metrics", "", "").want(t, 200)
	if !strings.Contains(string(m.body), `voxgate_http_requests_total{code="200",route="GET /v1/agents"} 1`) {
		t.Fatalf("metrics lack the request count:\n%s", m.body)
	}
	g.ready = false
	if r := g.do("GET", "/readyz", "", "").want(t, 503).json(t); r["ready"] != false {
		t.Fatalf("readyz while draining: %v", r)
	}
}
