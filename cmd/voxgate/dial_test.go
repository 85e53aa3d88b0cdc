package main

import (
	"context"
	"encoding/json"
	"net"
	"testing"
	"time"
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
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	api := restClient{t: t, ctx: ctx, base: p.base, key: p.devKey(t)}
	sid := api.object("POST", "/v1/sessions", `{"mode":"media_stream"}`)["id"].(string)
	code, raw := api.call("POST", "/v1/sessions/"+sid+"/dial", `{"to":"sip:bob@`+hole.LocalAddr().String()+`"}`)
	var body struct{ Error struct{ Code string } }
	_ = json.Unmarshal(raw, &body)
	if code != 502 || body.Error.Code != "sip_dial_failed" {
		t.Fatalf("dial to a silent host: %d %s", code, raw)
	}
}
