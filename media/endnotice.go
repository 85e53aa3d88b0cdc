package media

import "sync"

// EndNotice calls a function once a stream or a leg has ended: the one
// given to Notify, when End is first called, or at once if it already was.
// It lets whoever consumes the stream learn of its end without a goroutine
// waiting for it. The zero value is ready.
type EndNotice struct {
	mu    sync.Mutex
	ended bool
	f     func()
}

// Notify has f called when End is, or now if End already was; a later
// Notify replaces an earlier one's f. f must not block.
func (e *EndNotice) Notify(f func()) {
	e.mu.Lock()
	ended := e.ended
	if !ended {
		e.f = f
	}
	e.mu.Unlock()
	if ended {
		f()
	}
}

// End records the end and calls the function Notify was given, if any;
// only its first call does anything.
func (e *EndNotice) End() {
	e.mu.Lock()
	f := e.f
	e.ended, e.f = true, nil
	e.mu.Unlock()
	if f != nil {
		f()
	}
}
