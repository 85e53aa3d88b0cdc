package id

import (
	"sort"
	"strings"
	"testing"
	"time"
)

func TestNewSortsInCreationOrder(t *testing.T) {
	fixed := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	g := NewGenerator(func() time.Time { return fixed })
	var ids []string
	for range 1000 {
		ids = append(ids, g.New(Session))
	}
	if !sort.StringsAreSorted(ids) {
		t.Fatal("ids made in one millisecond do not sort in creation order")
	}
	seen := map[string]bool{}
	for _, s := range ids {
		if seen[s] {
			t.Fatalf("duplicate id %s", s)
		}
		seen[s] = true
		if !HasPrefix(s, Session) {
			t.Fatalf("%s: not a session id", s)
		}
	}
	got, ok := Time(ids[0])
	if !ok || !got.Equal(fixed) {
		t.Fatalf("Time(%s) = %v, %v; want %v", ids[0], got, ok, fixed)
	}
}

func TestNewAcrossMilliseconds(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	g := NewGenerator(func() time.Time { return now })
	a := g.New(Call)
	now = now.Add(time.Millisecond)
	b := g.New(Call)
	if a >= b {
		t.Fatalf("%s should sort before %s", a, b)
	}
}

func TestHasPrefix(t *testing.T) {
	good := New(WebhookDelivery)
	for _, tc := range []struct {
		s, prefix string
		want      bool
	}{
		{good, WebhookDelivery, true},
		{good, WebhookEndpoint, false},
		{"sess_", Session, false},
		{"sess_01JD3ZZZZZZZZZZZZZZZZZZZZI", Session, false}, // I is not Crockford
		{"sess_01jd3zzzzzzzzzzzzzzzzzzzzz", Session, false},
		{"", Session, false},
	} {
		if got := HasPrefix(tc.s, tc.prefix); got != tc.want {
			t.Errorf("HasPrefix(%q, %q) = %v", tc.s, tc.prefix, got)
		}
	}
}

func TestSecret(t *testing.T) {
	a, b := Secret("sk_live_", 32), Secret("sk_live_", 32)
	if a == b {
		t.Fatal("two secrets are equal")
	}
	body := strings.TrimPrefix(a, "sk_live_")
	if len(body) != 52 { // 256 bits in base32
		t.Fatalf("secret body %q has %d chars", body, len(body))
	}
	if strings.ContainsAny(body, "ilou_") {
		t.Fatalf("secret %q uses characters outside the alphabet", body)
	}
}
