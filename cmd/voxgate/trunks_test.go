package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/store"
	"github.com/voxgate/voxgate/store/storetest"
)

func TestTrunksFromConfig(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st := storetest.OpenConfig(t, store.Config{DataDir: t.TempDir()})
	m, err := session.NewManager(session.Config{PublicURL: "http://127.0.0.1:8080", SIPHost: "127.0.0.1"}, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	trunks := []TrunkConfig{{Org: "acme", Name: "carrier", InboundCIDRs: []string{"127.0.0.1/32"}, OutboundHost: "127.0.0.1", Username: "u", Password: "p"}}
	for range 2 { // loading twice updates, never duplicates
		if err := loadTrunks(ctx, st, m, trunks); err != nil {
			t.Fatal(err)
		}
	}
	all, err := m.AllTrunks(ctx)
	if err != nil || len(all) != 1 || all[0].Password != "p" || !all[0].Scope.Livemode || all[0].OutboundPort != 5060 {
		t.Fatalf("trunks: %+v %v", all, err)
	}
	err = loadTrunks(ctx, st, m, []TrunkConfig{{Org: "acme", Name: "bad", InboundCIDRs: []string{"x"}}})
	if err == nil || !strings.Contains(err.Error(), "trunks[0]") || !strings.Contains(err.Error(), "inbound_cidrs") {
		t.Fatalf("bad trunk: %v", err)
	}
}
