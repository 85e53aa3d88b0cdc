package media

import "sync/atomic"

// Handoff carries the frames a receiving goroutine takes from the network
// to their consumer: they wait for Read until Deliver names a writer, and
// then go to it as they arrive, on the receiving goroutine, those still
// waiting first. Put never blocks: a frame that finds the queue full is
// dropped. Frame buffers are reused, so the steady state allocates nothing.
type Handoff struct {
	frames  chan *handoffFrame // waiting for Read, in order
	spare   chan *handoffFrame // emptied by Read, for Put to fill again
	sink    atomic.Pointer[Writer]
	drained bool // Put's: the frames that waited have gone to the sink
}

// handoffFrame is one waiting frame; buf grows to the largest payload it carried.
type handoffFrame struct {
	buf     []byte
	ts      uint32
	missing bool
}

// NewHandoff returns a Handoff where up to depth frames wait for Read.
func NewHandoff(depth int) *Handoff {
	return &Handoff{frames: make(chan *handoffFrame, depth), spare: make(chan *handoffFrame, depth+1)}
}

// Put hands on one frame's Payload, Timestamp and Missing; it reports
// false when the frame was dropped. Only the receiving goroutine calls it.
func (h *Handoff) Put(f Frame) bool {
	if w := h.sink.Load(); w != nil {
		if !h.drained {
			h.drain(*w)
		}
		_ = (*w).WriteFrame(f)
		return true
	}
	var hf *handoffFrame
	select {
	case hf = <-h.spare:
	default: // only until as many frames are in flight as Read keeps ahead
		hf = new(handoffFrame)
	}
	hf.buf, hf.ts, hf.missing = append(hf.buf[:0], f.Payload...), f.Timestamp, f.Missing
	select {
	case h.frames <- hf:
		return true
	default: // nobody reads: drop rather than block the receiver
		h.recycle(hf)
		return false
	}
}

// drain hands w the frames that were waiting when Deliver was called.
func (h *Handoff) drain(w Writer) {
	for {
		select {
		case hf := <-h.frames:
			_ = w.WriteFrame(Frame{Payload: hf.buf, Timestamp: hf.ts, Missing: hf.missing})
		default:
			h.drained = true
			return
		}
	}
}

// Deliver sends every frame from now on to w.WriteFrame, on the receiving
// goroutine, instead of keeping it for Read. w must not block, and
// f.Payload is valid only during the call. Deliver is called at most once,
// and Read not after it.
func (h *Handoff) Deliver(w Writer) { h.sink.Store(&w) }

// Read waits for the next frame and copies it into f (reusing f.Payload's
// capacity; f.Samples is cleared); it reports false once done is closed.
func (h *Handoff) Read(f *Frame, done <-chan struct{}) bool {
	select {
	case hf := <-h.frames:
		f.Payload, f.Timestamp, f.Missing, f.Samples = append(f.Payload[:0], hf.buf...), hf.ts, hf.missing, nil
		h.recycle(hf)
		return true
	case <-done:
		return false
	}
}

func (h *Handoff) recycle(hf *handoffFrame) {
	select {
	case h.spare <- hf:
	default:
	}
}
