package stream

import (
	"testing"
	"time"
)

// TestDeadlineMovesByTenths: messages closer together than a tenth of the
// timeout leave the deadline where it is; one later moves it a timeout on.
func TestDeadlineMovesByTenths(t *testing.T) {
	var set []time.Time
	d := deadline{set: func(at time.Time) error { set = append(set, at); return nil }, timeout: 200 * time.Millisecond}
	start := time.Now()
	d.extend()
	d.extend()
	d.extend()
	if len(set) != 1 || set[0].Sub(start) < d.timeout {
		t.Fatalf("three messages at once set the deadline %d times (%v)", len(set), set)
	}
	time.Sleep(d.timeout / 5)
	d.extend()
	if len(set) != 2 || set[1].Sub(set[0]) < d.timeout/10 {
		t.Fatalf("a message a fifth of the timeout later: deadlines %v", set)
	}
}
