package mediatest

import (
	"sync"

	"github.com/voxgate/voxgate/media"
)

// Sink is a media.Writer that keeps copies of what it is given: PCM samples
// appended to one slice, payloads one per frame. It is safe for concurrent use.
type Sink struct {
	mu       sync.Mutex
	frames   int
	missing  int
	samples  []int16
	payloads [][]byte
}

// WriteFrame records a copy of f.
func (s *Sink) WriteFrame(f media.Frame) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.frames++
	if f.Missing {
		s.missing++
	}
	s.samples = append(s.samples, f.Samples...)
	if f.Payload != nil {
		s.payloads = append(s.payloads, append([]byte(nil), f.Payload...))
	}
	return nil
}

// String names the stage.
func (s *Sink) String() string { return "Sink" }

// Frames returns how many frames were written, and how many of them were
// marked Missing.
func (s *Sink) Frames() (total, missing int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.frames, s.missing
}

// Samples returns a copy of all PCM samples written so far.
func (s *Sink) Samples() []int16 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int16(nil), s.samples...)
}

// Payloads returns copies of the non-nil payloads written so far, one per frame.
func (s *Sink) Payloads() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([][]byte, len(s.payloads))
	for i, p := range s.payloads {
		out[i] = append([]byte(nil), p...)
	}
	return out
}
