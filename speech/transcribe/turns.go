package transcribe

import (
	"sync/atomic"
)

// FrameSamples is the size of the 20 ms frames a Turns takes.
const FrameSamples = Rate / 50

// Voice activity and turn timing, in 20 ms frames.
const (
	prerollFrames = 10   // audio kept from before speech starts (200 ms)
	partialFrames = 20   // a partial every 400 ms of a turn
	endFrames     = 35   // silence that ends a turn (700 ms)
	maxTurnFrames = 1500 // a turn is cut after 30 s
	queueFrames   = 250  // audio that may wait for the recognizer (5 s)
	minVoiceRMS   = 200  // ≈ -44 dBFS: quieter is never speech
)

type chunk struct {
	pcm [FrameSamples]int16
	ms  int64
}

// Turns recognizes one speaker's audio turn by turn. Push hands it frames
// without blocking; a goroutine splits them into turns by voice activity,
// feeds the stream, and calls emit with a partial result at least every
// 500 ms of speech and a final result at the end of each turn (always after
// at least one partial). When the recognizer falls behind, frames are
// dropped and counted.
type Turns struct {
	open func() (Stream, error)
	s    Stream
	emit func(Result)
	fail func(error)

	q, free chan *chunk
	dropped atomic.Uint64
	done    chan struct{}

	// the goroutine's state
	pre      [prerollFrames]*chunk
	npre     int
	noise    float64
	speaking bool
	start    int64 // ms the turn began
	last     int64 // ms after the turn's last voiced frame
	frames   int   // frames of the turn so far
	silent   int   // voiceless frames in a row
	partials int   // partials sent this turn
	failed   bool  // open failed
	reported bool  // fail was called
}

// NewTurns starts recognizing with the stream open returns (called on the
// Turns' goroutine, so that loading a model delays nothing: frames queue
// meanwhile), and closes it at Close. emit gets the results; fail gets the
// first error, of open (the audio is then dropped) or of the stream (the
// turn is lost; the next turns are tried again).
func NewTurns(open func() (Stream, error), emit func(Result), fail func(error)) *Turns {
	t := &Turns{open: open, emit: emit, fail: fail, q: make(chan *chunk, queueFrames+prerollFrames), free: make(chan *chunk, queueFrames+prerollFrames), done: make(chan struct{})}
	for range queueFrames + prerollFrames {
		t.free <- new(chunk)
	}
	go t.run()
	return t
}

// Push queues a frame of 16 kHz audio that began at ms of the caller's
// clock. It never blocks: it reports false and counts the frame dropped
// when the recognizer is behind. It must not be called during or after Close.
func (t *Turns) Push(pcm []int16, ms int64) bool {
	select {
	case c := <-t.free:
		n := copy(c.pcm[:], pcm)
		clear(c.pcm[n:])
		c.ms = ms
		t.q <- c // never blocks: q has room for every chunk (the pre-roll's too, once a turn starts)
		return true
	default:
		t.dropped.Add(1)
		return false
	}
}

// Dropped counts the frames dropped because the recognizer was behind.
func (t *Turns) Dropped() uint64 { return t.dropped.Load() }

// Close recognizes what is queued, finishes the current turn (its final is
// emitted before Close returns) and closes the stream.
func (t *Turns) Close() {
	close(t.q)
	<-t.done
}

func (t *Turns) run() {
	defer close(t.done)
	s, err := t.open()
	if err != nil {
		t.failed = true
		t.report(err)
	} else {
		t.s = s
		defer func() { _ = s.Close() }()
	}
	for c := range t.q {
		t.frame(c)
	}
	if t.speaking {
		t.endTurn()
	}
	for _, c := range t.pre[:t.npre] {
		t.free <- c
	}
}

// frame takes one frame through voice activity detection and recognition.
func (t *Turns) frame(c *chunk) {
	if t.failed {
		t.free <- c
		return
	}
	voiced := t.voiced(&c.pcm)
	if !t.speaking {
		if !voiced {
			t.keep(c)
			return
		}
		t.speaking, t.frames, t.silent, t.partials = true, 0, 0, 0
		t.start = c.ms
		if t.npre > 0 {
			t.start = t.pre[0].ms
		}
		for _, p := range t.pre[:t.npre] {
			t.write(p)
		}
		t.npre = 0
	}
	ms := c.ms
	t.write(c) // c goes back to Push
	if voiced {
		t.silent, t.last = 0, ms+20
	} else {
		t.silent++
	}
	if t.frames%partialFrames == 0 {
		t.partial()
	}
	if t.silent >= endFrames || t.frames >= maxTurnFrames {
		t.endTurn()
	}
}

// voiced reports whether a frame's energy stands out of the noise floor.
func (t *Turns) voiced(pcm *[FrameSamples]int16) bool {
	var sum float64
	for _, v := range pcm {
		sum += float64(v) * float64(v)
	}
	ms := sum / FrameSamples
	th := max(minVoiceRMS*minVoiceRMS, 9*t.noise) // 3× the noise's RMS
	v := ms > th
	if !v {
		t.noise = 0.95*t.noise + 0.05*ms
	}
	return v
}

// keep remembers a voiceless frame as pre-roll, recycling the oldest.
func (t *Turns) keep(c *chunk) {
	if t.npre == prerollFrames {
		t.free <- t.pre[0]
		copy(t.pre[:], t.pre[1:])
		t.npre--
	}
	t.pre[t.npre] = c
	t.npre++
}

func (t *Turns) write(c *chunk) {
	err := t.s.Write(c.pcm[:])
	t.free <- c
	t.frames++
	if err != nil {
		t.report(err)
	}
}

func (t *Turns) partial() {
	text, err := t.s.Partial()
	if err != nil {
		t.report(err)
		return
	}
	if text != "" {
		t.partials++
		t.emit(Result{Text: text, StartMS: t.start, EndMS: t.last})
	}
}

func (t *Turns) endTurn() {
	t.speaking = false
	if t.partials == 0 {
		t.partial()
	}
	text, conf, err := t.s.End()
	if err != nil {
		t.report(err)
		return
	}
	if text != "" {
		t.emit(Result{Text: text, StartMS: t.start, EndMS: t.last, Confidence: conf, Final: true})
	}
}

func (t *Turns) report(err error) {
	if !t.reported {
		t.reported = true
		t.fail(err)
	}
}
