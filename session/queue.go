package session

// queue is a first-in first-out ring that starts small and doubles, up to
// max (0: no bound), only as its consumer falls behind: a subscriber that
// keeps up holds a few slots, not the room its worst moment would need. The
// zero value is an empty queue without a bound.
type queue[T any] struct {
	buf     []T
	head, n int
	max     int
}

// newQueue makes a queue of at most max elements with room for a few now.
func newQueue[T any](max int) queue[T] {
	return queue[T]{buf: make([]T, min(max, 8)), max: max}
}

// tail returns the slot after the last element and counts it in, or nil
// when the queue holds max. The slot keeps what it held before, so that a
// caller may reuse its buffers.
func (q *queue[T]) tail() *T {
	if q.n == len(q.buf) {
		if q.max > 0 && len(q.buf) >= q.max {
			return nil
		}
		size := max(8, 2*len(q.buf))
		if q.max > 0 {
			size = min(size, q.max)
		}
		grown := make([]T, size)
		for i := range q.n {
			grown[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		q.buf, q.head = grown, 0
	}
	slot := &q.buf[(q.head+q.n)%len(q.buf)]
	q.n++
	return slot
}

// front returns the oldest element and takes it out, or nil when empty. The
// slot stays valid until the next tail.
func (q *queue[T]) front() *T {
	if q.n == 0 {
		return nil
	}
	slot := &q.buf[q.head]
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	return slot
}

// peek returns the oldest element without taking it out, or nil when empty.
func (q *queue[T]) peek() *T {
	if q.n == 0 {
		return nil
	}
	return &q.buf[q.head]
}

// at returns the i-th oldest element (i < count) without taking it out.
func (q *queue[T]) at(i int) *T { return &q.buf[(q.head+i)%len(q.buf)] }

// count is how many elements wait.
func (q *queue[T]) count() int { return q.n }
