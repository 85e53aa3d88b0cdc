package sip

import (
	"net/netip"
	"testing"
	"time"
)

func TestLimiterBansAndForgives(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newLimiter(Limits{SourceRate: 2, SourceBurst: 3, BanFor: time.Minute}, func() time.Time { return now })
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	for i := range 3 {
		if !l.allow(a) {
			t.Fatalf("request %d within the burst refused", i)
		}
	}
	if l.allow(a) || !l.isBanned(a) || l.isBanned(b) || !l.allow(b) {
		t.Fatal("the fourth request at once must ban a, and only a")
	}
	now = now.Add(59 * time.Second) // refilled, but still banned
	if l.allow(a) {
		t.Fatal("banned source allowed before the ban ends")
	}
	now = now.Add(2 * time.Second)
	if !l.allow(a) || l.banned() != 0 {
		t.Fatal("the ban did not end")
	}
	if l.bans.Load() != 1 || l.limited.Load() != 2 {
		t.Fatalf("bans %d limited %d", l.bans.Load(), l.limited.Load())
	}
	// A steady rate under the limit is never banned.
	for range 100 {
		now = now.Add(600 * time.Millisecond)
		if !l.allow(b) {
			t.Fatal("a source under its rate was refused")
		}
	}
}

func TestLimiterForgetsIdleSources(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newLimiter(Limits{SourceRate: 1, SourceBurst: 2, BanFor: time.Minute}, func() time.Time { return now })
	for i := range maxSources {
		l.allow(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
	}
	now = now.Add(time.Minute)
	l.allow(netip.MustParseAddr("192.0.2.9"))
	if n := len(l.sources); n != 1 {
		t.Fatalf("%d sources remembered after the idle ones were forgotten", n)
	}
}
