package media

import "testing"

// A function given before the end is called at the end, once however many
// times End is called; one given after it is called at once; a later
// Notify replaces an earlier one.
func TestEndNotice(t *testing.T) {
	var e EndNotice
	calls := map[string]int{}
	e.Notify(func() { calls["replaced"]++ })
	e.Notify(func() { calls["before"]++ })
	if len(calls) != 0 {
		t.Fatalf("called before the end: %v", calls)
	}
	e.End()
	e.End()
	e.Notify(func() { calls["after"]++ })
	if len(calls) != 2 || calls["before"] != 1 || calls["after"] != 1 {
		t.Fatalf("calls %v, want before and after once each", calls)
	}
}
