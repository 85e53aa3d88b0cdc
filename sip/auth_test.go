package sip

import (
	"testing"
	"time"
)

func TestNonces(t *testing.T) {
	n := newNonces()
	now := time.Unix(1_800_000_000, 0)
	n.now = func() time.Time { return now }
	nonce := n.issue()
	if ours, stale := n.check(nonce); !ours || stale {
		t.Fatalf("fresh nonce: ours %v stale %v", ours, stale)
	}
	now = now.Add(nonceLifetime + time.Second)
	if ours, stale := n.check(nonce); !ours || !stale {
		t.Fatalf("old nonce: ours %v stale %v", ours, stale)
	}
	for _, bad := range []string{"", ".", nonce + "0", "1" + nonce, "zz." + nonce[len(nonce)-32:]} {
		if ours, _ := n.check(bad); ours {
			t.Fatalf("%q taken as ours", bad)
		}
	}
	if ours, _ := newNonces().check(nonce); ours {
		t.Fatal("another server's nonce taken as ours")
	}
}
