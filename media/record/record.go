// Package record writes call recordings as 16-bit PCM WAV files while the
// audio flows, repairs the files a crash leaves behind, and exports them to
// MP3 and Ogg/Opus for download.
//
// A Recorder takes the audio of the two sides of a call, customer and agent,
// and writes either one mixed mono file (the sum of both, clipped) or one
// dual file (customer left, agent right). The sides are kept aligned: a side
// that sends nothing for 200 ms is filled with silence and, when it speaks
// again, starts where the other side has got to, or where the wall clock is
// when both were silent, so the recording lasts as long as the call.
//
// Samples reach the file within about 200 ms (at most one second when one
// side runs ahead of the other), and every second the header is rewritten to
// match the data and the file is synced, off the writers' path. A process
// killed with SIGKILL therefore leaves a file that any player opens, missing
// at most about the last second; Repair, run at start, recovers everything
// that reached the file.
//
// Export encodes a finished recording for download:
//   - MP3 with LAME (Debian's libmp3lame-dev, through cgo), at a constant
//     3 bits per sample (24 kbit/s for 8 kHz mono), dual files as plain
//     stereo so no side leaks into the other channel. LAME is the reference
//     MP3 encoder and handles 8 and 16 kHz (MPEG 2.5 and 2) well; it is LGPL
//     and linked dynamically from the system library. The only pure-Go
//     encoder, braheezy/shine-mp3 (a port of shine), is LGPL as well but
//     would be linked statically into our binary, and by its own README
//     gives larger files of lower quality than LAME.
//   - Ogg/Opus (RFC 7845) with the encoder of transcode/opus (libopus) and
//     a small Ogg page writer of our own (ogg.go): the container is a
//     hundred lines, and the one Go writer at hand, pion/webrtc's oggwriter,
//     takes RTP packets and belongs to the rtc package. transcode/opus encodes
//     mono, so a dual file carries two uncoupled mono streams (channel
//     mapping family 1), which also keeps the sides apart: no crosstalk from
//     stereo coding.
//
// Built without cgo, Export returns an error: both encoders are C libraries.
// The package never logs.
package record

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/voxgate/voxgate/media"
)

const (
	// idleAfter is how long a side may send nothing before the file goes on
	// without it (its part is silence) and its next audio is placed at the
	// wall-clock time it arrives.
	idleAfter = 200 * time.Millisecond
	// maxLead bounds how far one side may run ahead of the other before the
	// other is taken to be silent.
	maxLead = time.Second
	// headerEvery is how often the header is rewritten and the file synced.
	headerEvery = time.Second
)

// Side is one side of a call.
type Side uint8

// The sides of a call; in a dual recording the customer is the left channel.
const (
	Customer Side = iota
	Agent
)

// String returns "customer" or "agent".
func (s Side) String() string {
	switch s {
	case Customer:
		return "customer"
	case Agent:
		return "agent"
	}
	return fmt.Sprintf("Side(%d)", uint8(s))
}

// Options say what a Recorder writes.
type Options struct {
	// SampleRate is 8000 or 16000 Hz; every side writes PCM at this rate.
	SampleRate int
	// Channels is 1 for a mixed recording and 2 for a dual one.
	Channels int
}

// Validate reports whether the options can be recorded.
func (o Options) Validate() error {
	if o.SampleRate != 8000 && o.SampleRate != 16000 {
		return fmt.Errorf("%w: %d", errSampleRate, o.SampleRate)
	}
	if o.Channels != 1 && o.Channels != 2 {
		return fmt.Errorf("%w: %d", errChannels, o.Channels)
	}
	return nil
}

// A Recorder writes one WAV file from the audio of both sides. Its methods
// are safe for concurrent use: each side is usually written by its own
// pipeline goroutine.
type Recorder struct {
	path string
	opts Options
	f    *os.File
	// start is the wall-clock time of the file's first sample.
	start time.Time
	// chunk is how many frames (samples of every channel) commit writes at
	// once; out holds them encoded.
	chunk int

	closeOnce sync.Once
	closeErr  error

	mu      sync.Mutex
	closed  bool
	err     error // the first write error; later writes return it
	written int64 // frames in the file
	synced  int64 // frames the header declares
	sides   [2]side
	out     []byte
	silence []int16

	done chan struct{}
	wg   sync.WaitGroup
}

// side holds the samples of one side that are not in the file yet.
type side struct {
	// buf holds the samples for the frames from off on; the frames between
	// the file's end and off are silence.
	buf  []int16
	off  int64
	last time.Time // when the side last sent audio
}

func (s *side) end() int64 { return s.off + int64(len(s.buf)) }

// at returns the side's sample for frame t, or 0 when it has none.
func (s *side) at(t int64) int32 {
	i := t - s.off
	if i < 0 || i >= int64(len(s.buf)) {
		return 0
	}
	return int32(s.buf[i])
}

// New creates the WAV file at path, which must not exist yet, and starts
// recording into it. Close finishes the file.
func New(path string, opts Options) (*Recorder, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create recording: %w", err)
	}
	r, err := start(path, f, opts)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("create recording: %w", err)
	}
	return r, nil
}

// start writes the header to f, a new file, and starts recording into it.
func start(path string, f *os.File, opts Options) (*Recorder, error) {
	var hdr [headerSize]byte
	putHeader(hdr[:], opts.SampleRate, opts.Channels, 0)
	if _, err := f.Write(hdr[:]); err != nil {
		return nil, err
	}
	lead := media.SamplesIn(opts.SampleRate, maxLead)
	r := &Recorder{
		path:    path,
		opts:    opts,
		f:       f,
		start:   time.Now(),
		chunk:   media.SamplesIn(opts.SampleRate, 100*time.Millisecond),
		silence: make([]int16, media.PCM16(opts.SampleRate).SamplesPerFrame()),
		done:    make(chan struct{}),
	}
	r.out = make([]byte, r.chunk*opts.Channels*2)
	for i := range r.sides {
		r.sides[i] = side{buf: make([]int16, 0, lead), last: r.start}
	}
	r.wg.Add(1)
	go r.run()
	return r, nil
}

// Write records samples, mono PCM at the recording's rate, said by side s.
// The samples are copied.
func (r *Recorder) Write(s Side, samples []int16) error {
	return r.write(s, samples, 0)
}

// Writer returns a media.Writer that records the frames it is given as the
// audio of side s. Frames must be mono PCM16 at the recording's rate; a
// Missing frame is recorded as silence. Timestamps are not used: a side's
// frames follow each other, and silences are found by the time they arrive.
func (r *Recorder) Writer(s Side) media.Writer { return sideWriter{r, s} }

type sideWriter struct {
	r *Recorder
	s Side
}

func (w sideWriter) WriteFrame(f media.Frame) error {
	switch {
	case f.Missing:
		n := len(f.Samples)
		if n == 0 {
			n = len(w.r.silence)
		}
		return w.r.write(w.s, nil, n)
	case f.Samples == nil && f.Payload != nil:
		return errNotPCM
	}
	return w.r.write(w.s, f.Samples, 0)
}

func (w sideWriter) String() string {
	return fmt.Sprintf("Record(%s, %s)", w.s, media.PCM16(w.r.opts.SampleRate))
}

// String names the recorder in a pipeline.
func (r *Recorder) String() string {
	return fmt.Sprintf("Recorder(%s, %d Hz, %d ch)", r.path, r.opts.SampleRate, r.opts.Channels)
}

// write records samples followed by zeros samples of silence.
func (r *Recorder) write(s Side, samples []int16, zeros int) error {
	if s > Agent {
		return fmt.Errorf("%w: %d", errSide, s)
	}
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	if r.err != nil {
		return r.err
	}
	sd := &r.sides[s]
	if now.Sub(sd.last) > idleAfter { // it was silent: it speaks from now on
		r.place(sd, r.now(s, now))
	}
	sd.last = now
	for len(samples) > 0 {
		n := min(len(samples), cap(sd.buf)/2)
		r.push(sd, samples[:n])
		samples = samples[n:]
	}
	for zeros > 0 {
		n := min(zeros, len(r.silence))
		r.push(sd, r.silence[:n])
		zeros -= n
	}
	r.commit(now)
	return r.err
}

// now returns the frame where side s, silent until now, starts again: where
// the other side has got to if it is talking (its clock may drift from
// ours, or it may have lost frames), else the frame the wall clock is at.
func (r *Recorder) now(s Side, now time.Time) int64 {
	if o := &r.sides[1-s]; now.Sub(o.last) <= idleAfter {
		return o.end()
	}
	return int64(now.Sub(r.start)) * int64(r.opts.SampleRate) / int64(time.Second)
}

// place moves a side that was silent to frame t, if that is later than
// where its audio ends.
func (r *Recorder) place(sd *side, t int64) {
	if t <= sd.end() {
		return
	}
	if len(sd.buf) > 0 {
		r.commitTo(sd.end())
	}
	sd.off = max(t, r.written)
}

// push appends x to a side's pending samples, first committing enough to
// make room: the other side is taken to be silent that far.
func (r *Recorder) push(sd *side, x []int16) {
	if over := len(sd.buf) + len(x) - cap(sd.buf); over > 0 {
		r.commitTo(sd.off + int64(over))
	}
	if r.err != nil {
		return
	}
	sd.buf = append(sd.buf, x...)
}

// commit writes out everything both sides have said, and everything a side
// has said while the other one is idle.
func (r *Recorder) commit(now time.Time) {
	to, last := int64(-1), r.written
	for i := range r.sides {
		sd := &r.sides[i]
		last = max(last, sd.end())
		if now.Sub(sd.last) <= idleAfter && (to < 0 || sd.end() < to) {
			to = sd.end()
		}
	}
	if to < 0 {
		to = last
	}
	r.commitTo(to)
}

// commitTo writes the frames up to t to the file, mixing or interleaving
// the sides, and drops them from the sides' buffers.
func (r *Recorder) commitTo(t int64) {
	block := int64(r.opts.Channels) * 2
	for r.written < t && r.err == nil {
		n := min(t-r.written, int64(r.chunk))
		if (r.written+n)*block > maxData {
			r.err = fmt.Errorf("write %s: %w", r.path, errTooLong)
			return
		}
		r.render(r.out[:n*block], r.written)
		if _, err := r.f.Write(r.out[:n*block]); err != nil {
			r.err = err // an *fs.PathError, naming the file
			return
		}
		r.written += n
		for i := range r.sides {
			sd := &r.sides[i]
			if r.written > sd.off {
				k := min(r.written-sd.off, int64(len(sd.buf)))
				sd.buf = sd.buf[:copy(sd.buf, sd.buf[k:])]
				sd.off = r.written
			}
		}
	}
}

// render encodes the frames from t on into out: the clipped sum of both
// sides for a mixed file, customer then agent for a dual one.
func (r *Recorder) render(out []byte, t int64) {
	c, a := &r.sides[Customer], &r.sides[Agent]
	if r.opts.Channels == 1 {
		for i := 0; i < len(out); i, t = i+2, t+1 {
			v := uint16(clip(c.at(t) + a.at(t)))
			out[i], out[i+1] = byte(v), byte(v>>8)
		}
		return
	}
	for i := 0; i < len(out); i, t = i+4, t+1 {
		l, rt := uint16(c.at(t)), uint16(a.at(t))
		out[i], out[i+1], out[i+2], out[i+3] = byte(l), byte(l>>8), byte(rt), byte(rt>>8)
	}
}

func clip(v int32) int16 { return int16(max(-32768, min(32767, v))) }

// run rewrites the header and syncs the file every headerEvery until Close.
func (r *Recorder) run() {
	defer r.wg.Done()
	t := time.NewTicker(headerEvery)
	defer t.Stop()
	for {
		select {
		case <-r.done:
			return
		case now := <-t.C:
			r.mu.Lock()
			r.commit(now)
			changed := r.updateHeader()
			r.mu.Unlock()
			if changed {
				_ = r.sync() // kept in r.err for the next write
			}
		}
	}
}

// updateHeader makes the header declare the frames written so far, and
// reports whether it changed. r.mu must be held.
func (r *Recorder) updateHeader() bool {
	if r.synced == r.written || r.err != nil {
		return false
	}
	data := r.written * int64(r.opts.Channels) * 2
	if err := writeSizes(r.f, headerSize, data); err != nil {
		r.err = err
		return false
	}
	r.synced = r.written
	return true
}

// sync flushes the file to disk; it runs without r.mu so that writers do
// not wait for the disk. A file that cannot be synced (EINVAL: not a
// regular file) has nothing to flush.
func (r *Recorder) sync() error {
	err := r.f.Sync()
	if err == nil || errors.Is(err, syscall.EINVAL) {
		return nil
	}
	r.mu.Lock()
	if r.err == nil {
		r.err = err
	}
	r.mu.Unlock()
	return err
}

// Duration returns how much audio is in the file so far.
func (r *Recorder) Duration() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return time.Duration(r.written * int64(time.Second) / int64(r.opts.SampleRate))
}

// Close writes out what both sides have said, finishes the header and
// closes the file. It is idempotent and returns the first error the
// recording met.
func (r *Recorder) Close() error {
	r.closeOnce.Do(func() { r.closeErr = r.close() })
	return r.closeErr
}

func (r *Recorder) close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	close(r.done)
	r.wg.Wait()

	r.mu.Lock()
	r.commitTo(max(r.sides[Customer].end(), r.sides[Agent].end()))
	r.updateHeader()
	err := r.err
	r.mu.Unlock()
	if err == nil {
		err = r.sync()
	}
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	return err
}
