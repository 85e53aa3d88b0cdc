package session

import "testing"

// A queue keeps its order across wrapping and growing, holds only the room
// its backlog needed, and refuses more than max.
func TestQueueGrowsOnlyAsItFallsBehind(t *testing.T) {
	q := newQueue[int](20)
	if len(q.buf) != 8 {
		t.Fatalf("a new queue holds %d slots, want 8", len(q.buf))
	}
	next, want := 0, 0
	push := func(k int) {
		for range k {
			slot := q.tail()
			if slot == nil {
				t.Fatalf("full at %d of 20", q.count())
			}
			*slot = next
			next++
		}
	}
	pop := func(k int) {
		for range k {
			slot := q.front()
			if slot == nil || *slot != want {
				t.Fatalf("front = %v, want %d", slot, want)
			}
			want++
		}
	}
	for range 100 { // a consumer that keeps up, wrapping many times
		push(5)
		pop(5)
	}
	if len(q.buf) != 8 {
		t.Fatalf("a queue kept up with holds %d slots, want 8", len(q.buf))
	}
	push(6)
	pop(3)
	push(12) // 15 waiting, across the wrap: grown once
	if len(q.buf) != 16 || q.count() != 15 {
		t.Fatalf("%d slots, %d waiting; want 16, 15", len(q.buf), q.count())
	}
	push(5)
	if q.tail() != nil {
		t.Fatal("a queue at max took one more")
	}
	if len(q.buf) != 20 {
		t.Fatalf("grown to %d slots, want the max 20", len(q.buf))
	}
	pop(20)
	if q.front() != nil {
		t.Fatal("an empty queue gave an element")
	}
}
