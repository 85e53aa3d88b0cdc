package api

import (
	"context"
	"strconv"
	"sync"
	"time"
)

// Limiter counts requests per API key in fixed one-minute windows: Take
// counts one for key and says whether it is within limit, what remains and
// when the window resets.
type Limiter interface {
	Take(ctx context.Context, key string, limit int) (allowed bool, remaining int, reset time.Time)
}

// rateLimiter is the Limiter of one node: requests per key in fixed one-minute windows, the model
// the X-RateLimit-* headers describe: a limit, what remains of it, and the
// Unix time the window resets.
type rateLimiter struct {
	mu      sync.Mutex
	now     func() time.Time
	windows map[string]*window
	sweep   time.Time
}

type window struct {
	start time.Time
	count int
}

func newRateLimiter(now func() time.Time) *rateLimiter {
	return &rateLimiter{now: now, windows: map[string]*window{}}
}

// Take counts one request for key and says whether it is within limit.
func (l *rateLimiter) Take(_ context.Context, key string, limit int) (allowed bool, remaining int, reset time.Time) {
	now := l.now()
	start := now.Truncate(time.Minute)
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.sweep) > time.Minute { // forget keys idle since the last window
		for k, w := range l.windows {
			if w.start.Before(start) {
				delete(l.windows, k)
			}
		}
		l.sweep = now
	}
	w := l.windows[key]
	if w == nil || !w.start.Equal(start) {
		w = &window{start: start}
		l.windows[key] = w
	}
	reset = start.Add(time.Minute)
	if w.count >= limit {
		return false, 0, reset
	}
	w.count++
	return true, limit - w.count, reset
}

func itoa(n int) string { return strconv.Itoa(n) }
