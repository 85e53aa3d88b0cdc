package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestDialUnreachableIs502: POST /dial to a SIP host that never answers is a
// 502 sip_dial_failed within the request, not a call that rings forever.
func TestDialUnreachableIs502(t *testing.T) {
	hole, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hole.Close()
	p := startServe(t, t.TempDir(), "--dev-key")
	out := p.stdout.String()
	key := strings.Fields(out[strings.Index(out, "sk_live_"):])[0]
	post := func(path, body string) (int, map[string]any) {
		req, _ := http.NewRequest("POST", p.base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		var v map[string]any
		_ = json.Unmarshal(raw, &v)
		return res.StatusCode, v
	}
	code, s := post("/v1/sessions", `{"mode":"media_stream"}`)
	if code != 201 {
		t.Fatalf("create session: %d %v", code, s)
	}
	code, body := post("/v1/sessions/"+s["id"].(string)+"/dial", `{"to":"sip:bob@`+hole.LocalAddr().String()+`"}`)
	e, _ := body["error"].(map[string]any)
	if code != 502 || e["code"] != "sip_dial_failed" {
		t.Fatalf("dial to a silent host: %d %v", code, body)
	}
}
