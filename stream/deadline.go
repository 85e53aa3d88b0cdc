package stream

import "time"

// deadline keeps a connection's read or write deadline a timeout after
// its last message, moving it only once it has fallen behind by a tenth of
// the timeout: a message every 20 ms would otherwise reset a runtime timer
// each time. The deadline then lies 0.9 to 1 timeout after the last
// message. Used by one goroutine (the reader, or the writer).
type deadline struct {
	set     func(time.Time) error
	timeout time.Duration
	at      time.Time // the deadline set last
}

// extend moves the deadline to a timeout from now, when it is due.
func (d *deadline) extend() {
	next := time.Now().Add(d.timeout)
	if next.Sub(d.at) < d.timeout/10 {
		return
	}
	d.at = next
	_ = d.set(next)
}
