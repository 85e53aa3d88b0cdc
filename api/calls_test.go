package api_test

import (
	"strings"
	"testing"

	"github.com/voxgate/voxgate/store/storetest"
)

func TestSIPTrunks(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e storetest.Engine) {
		g := startGateway(t, e.Config(t), options{})
		key := g.key(true, "admin")
		tr := g.do("POST", "/v1/sip_trunks", key, `{"name":"carrier","inbound_cidrs":["127.0.0.1","10.0.0.0/8"],
			"username":"gw","password":"s3cret-pw","outbound_host":"127.0.0.1","max_concurrent_calls":10}`).want(t, 201)
		if string(tr.body) == "" || strings.Contains(string(tr.body), "s3cret-pw") {
			t.Fatalf("password echoed: %s", tr.body)
		}
		m := tr.json(t)
		if m["object"] != "sip_trunk" || m["password_set"] != true || m["outbound_port"] != 5060.0 || m["transport"] != "udp" ||
			m["inbound_cidrs"].([]any)[0] != "127.0.0.1/32" {
			t.Fatalf("trunk: %v", m)
		}
		tid := m["id"].(string)
		upd := g.do("PATCH", "/v1/sip_trunks/"+tid, key, `{"transport":"tcp","number_format":"national"}`).want(t, 200).json(t)
		if upd["transport"] != "tcp" || upd["number_format"] != "national" || upd["password_set"] != true {
			t.Fatalf("patched: %v", upd)
		}
		for _, bad := range []string{`{"name":"x","inbound_cidrs":["nope"]}`, `{"name":"x","transport":"sctp","outbound_host":"h"}`,
			`{"name":"x","username":"only"}`, `{"name":"x"}`, `{"inbound_cidrs":["127.0.0.1"]}`, `{"name":"x","srtp":"maybe","outbound_host":"h"}`} {
			g.do("POST", "/v1/sip_trunks", key, bad).want(t, 400)
		}
		if l := g.do("GET", "/v1/sip_trunks", key, "").want(t, 200).json(t); len(l["data"].([]any)) != 1 {
			t.Fatalf("list: %v", l)
		}
		g.do("GET", "/v1/sip_trunks", g.key(true, "sessions:write"), "").want(t, 403)
		g.do("DELETE", "/v1/sip_trunks/"+tid, key, "").want(t, 200)
		g.do("GET", "/v1/sip_trunks/"+tid, key, "").want(t, 404)
	})
}

func TestDialValidationAndCalls(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e storetest.Engine) {
		g := startGateway(t, e.Config(t), options{})
		key := g.key(true)
		sid := g.do("POST", "/v1/sessions", key, `{"mode":"media_stream"}`).want(t, 201).json(t)["id"].(string)
		for _, tc := range []struct{ body, param string }{
			{`{}`, "to"},
			{`{"to":"555-1234"}`, "to"},
			{`{"to":"+14155550100","from":"me"}`, "from"},
			{`{"to":"+14155550100","timeout_seconds":0}`, "timeout_seconds"},
			{`{"to":"+14155550100","headers":{"Via":"x"}}`, "headers"},
			{`{"to":"+14155550100"}`, "trunk_id"}, // a number needs a trunk that dials out
			{`{"to":"+14155550100","trunk_id":"trk_01JD3ZZZZZZZZZZZZZZZZZZZZZ"}`, "trunk_id"},
			{`{"to":"sip:bob@127.0.0.1","speaker":"robot"}`, "speaker"},
		} {
			r := g.do("POST", "/v1/sessions/"+sid+"/dial", key, tc.body).want(t, 400)
			if r.errorField(t, "param") != tc.param {
				t.Fatalf("%s: param %v: %s", tc.body, r.errorField(t, "param"), r.body)
			}
		}
		// A valid dial with no SIP server on this gateway is 503, not a stored call.
		r := g.do("POST", "/v1/sessions/"+sid+"/dial", key, `{"to":"sip:bob@127.0.0.1:5099"}`).want(t, 503)
		if r.errorCode(t) != "sip_unavailable" {
			t.Fatal(r.errorCode(t))
		}
		l := g.do("GET", "/v1/sessions/"+sid+"/calls", key, "").want(t, 200).json(t)
		if len(l["data"].([]any)) != 0 {
			t.Fatalf("calls: %v", l)
		}
		g.do("GET", "/v1/calls?status=weird", key, "").want(t, 400)
		g.do("GET", "/v1/calls?direction=up", key, "").want(t, 400)
		g.do("GET", "/v1/calls/call_01JD3ZZZZZZZZZZZZZZZZZZZZZ", key, "").want(t, 404)
		g.do("GET", "/v1/sessions/sess_01JD3ZZZZZZZZZZZZZZZZZZZZZ/calls", key, "").want(t, 404)
		if h := g.do("POST", "/v1/sessions/"+sid+"/hangup", key, `{"call_id":"call_01JD3ZZZZZZZZZZZZZZZZZZZZZ"}`).want(t, 400); h.errorCode(t) != "call_not_found" {
			t.Fatal(h.errorCode(t))
		}
		if h := g.do("POST", "/v1/sessions/"+sid+"/hangup", key, "").want(t, 200).json(t); len(h["data"].([]any)) != 0 {
			t.Fatalf("hangup of nothing: %v", h)
		}
		// POST /v1/calls needs an agent with a brain.
		agent := g.do("POST", "/v1/agents", key, `{"name":"mute"}`).want(t, 201).json(t)["id"].(string)
		if r := g.do("POST", "/v1/calls", key, `{"agent_id":"`+agent+`","to":"sip:bob@127.0.0.1"}`).want(t, 400); r.errorCode(t) != "agent_not_configured" {
			t.Fatal(r.errorCode(t))
		}
	})
}
