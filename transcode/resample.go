package transcode

import (
	"fmt"
	"math"
	"slices"
	"sync"
)

// ResampleRates lists the rates a Resampler converts between.
var ResampleRates = []int{8000, 16000, 24000, 48000}

// Filter design of the resampler: a Kaiser-windowed sinc spanning some
// periods of the lower rate on each side, with a stopband of about 70 dB.
// Upsampling cuts off at the input's Nyquist frequency: a Nyquist filter, so
// the input samples pass through unchanged and every up-th output is free.
// Downsampling cuts off a little below the output's Nyquist frequency, with a
// longer filter, so that the passband stays flat to 0.43 of the output rate
// (3.4 kHz at 8 kHz) and what aliases lands above 0.48 of it.
const (
	zeroCrossingsUp   = 12
	zeroCrossingsDown = 24
	kaiserBeta        = 6.8
	downCutoff        = 0.95
)

// Resampler converts mono 16-bit PCM from one rate of ResampleRates to
// another with a polyphase FIR filter. It keeps the filter history between
// calls, so a stream cut into frames of any length comes out the same as
// when converted in one piece. The delay is 12 (up) or 24 (down) samples at
// the lower rate, 1.5 or 3 ms at 8 kHz. It never allocates once its buffer has
// grown to the frame size. A Resampler is not safe for concurrent use.
type Resampler struct {
	from, to int
	up, down int       // interpolate by up, then decimate by down
	taps     int       // the filter length per phase, in input samples
	phases   []phase   // one per up, shared by the conversion's resamplers
	buf      []float32 // taps-1 samples of history, then the current input
	t        int       // next output's position, in 1/up input samples, in buf
}

// scratch is Resample's working space: one lane of input (decimation
// only) and the output sums. It is only needed during a call, so the
// resamplers share a pool of them rather than keeping one each.
type scratch struct{ lane, acc []float32 }

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// phase is one polyphase branch of the filter: taps in input order (oldest
// first), trimmed of zeros, starting off samples into the filter's window.
// Its outputs are down input samples apart, so the taps are also kept split
// into down lanes: lanes[m] holds taps m, m+down, m+2·down...
type phase struct {
	taps  []float32
	lanes [][]float32
	off   int
	pass  bool // a single unit tap: the output is an input sample
}

// SpeechRate is espeak-ng's output rate. No codec carries it, so it is not
// one of ResampleRates, but a Resampler converts from it to them.
const SpeechRate = 22050

// NewResampler returns a resampler from rate from to rate to (Hz), both in
// ResampleRates, or from SpeechRate to one of them.
func NewResampler(from, to int) (*Resampler, error) {
	if (!resampleRate(from) && from != SpeechRate) || !resampleRate(to) {
		return nil, fmt.Errorf("resample %d to %d Hz: %w", from, to, ErrUnsupported)
	}
	g := gcd(from, to)
	r := &Resampler{from: from, to: to, up: to / g, down: from / g}
	// The prototype filter runs at from*up Hz.
	ratio := max(r.up, r.down)
	cutoff := 0.5 / float64(ratio) // in cycles per prototype sample
	zc := zeroCrossingsUp
	if to < from {
		cutoff *= downCutoff
		zc = zeroCrossingsDown
	}
	centre := zc * ratio
	r.taps = (2*centre + 1 + r.up - 1) / r.up
	key := [2]int{from, to}
	if phases, ok := filters.Load(key); ok {
		r.phases = phases.([]phase)
	} else {
		r.phases = r.design(cutoff, centre)
		filters.Store(key, r.phases)
	}
	r.Reset()
	return r, nil
}

// filters holds each conversion's polyphase filter, designed once: the
// phases are never written after, so every Resampler of a conversion
// shares them.
var filters sync.Map // [2]int{from, to} → []phase

// design computes the polyphase branches of a Kaiser-windowed sinc with
// the given cutoff (cycles per prototype sample) and centre tap.
func (r *Resampler) design(cutoff float64, centre int) []phase {
	proto := make([]float64, r.taps*r.up)
	for i := range 2*centre + 1 {
		x := float64(i - centre)
		proto[i] = 2 * cutoff * sinc(2*cutoff*x) * kaiser(x/float64(centre)) * float64(r.up)
	}
	// Phase p computes outputs at prototype time t ≡ p (mod up): it uses
	// proto[p + k·up] against input sample t/up - k.
	phases := make([]phase, r.up)
	for p := range phases {
		full := make([]float32, r.taps)
		first, last := r.taps, -1
		for k := range r.taps {
			v := proto[p+k*r.up]
			if math.Abs(v) < 1e-9 {
				continue
			}
			i := r.taps - 1 - k
			full[i] = float32(v)
			first, last = min(first, i), max(last, i)
		}
		// Round the length up to a multiple of 4 for dot's unrolled loop.
		first = max(0, last+1-(last-first+4)/4*4)
		ph := full[first : last+1]
		lanes := make([][]float32, r.down)
		for i, v := range ph {
			lanes[i%r.down] = append(lanes[i%r.down], v)
		}
		phases[p] = phase{taps: ph, lanes: lanes, off: first, pass: len(ph) == 1 && math.Abs(float64(ph[0])-1) < 1e-6}
	}
	return phases
}

// Reset clears the history, as for a new stream.
func (r *Resampler) Reset() {
	h := r.taps - 1
	if cap(r.buf) < h {
		r.buf = make([]float32, h)
	}
	r.buf = r.buf[:h]
	clear(r.buf)
	r.t = h * r.up
}

// OutLen returns an upper bound on the samples produced by n input samples.
func (r *Resampler) OutLen(n int) int { return (n*r.up+r.down-1)/r.down + 1 }

// Resample converts src and appends the output to dst, returning the
// extended slice, as strconv's Append functions do. Input of 20 ms yields
// exactly 20 ms of output.
func (r *Resampler) Resample(dst, src []int16) []int16 {
	h := r.taps - 1
	if cap(r.buf) < h+len(src) {
		grown := make([]float32, h, h+len(src))
		copy(grown, r.buf)
		r.buf = grown
	}
	buf := r.buf[:h+len(src)]
	for i, v := range src {
		buf[h+i] = float32(v)
	}
	// Outputs are at prototype times t0, t0+down, ... before end. Those of
	// one phase recur every up outputs, down input samples apart. Output i
	// of a phase is then the sum over lanes m of lanes[m] convolved with
	// input samples m, m+down, m+2·down... from its first input: split that
	// way, each lane is a plain convolution, computed four outputs at a time
	// so that each tap is loaded once per four outputs.
	t0, end := r.t, len(buf)*r.up
	count := 0
	if end > t0 {
		count = (end - t0 + r.down - 1) / r.down
	}
	dst = slices.Grow(dst, count)
	out := dst[len(dst) : len(dst)+count]
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	for first := range min(r.up, count) {
		t := t0 + first*r.down
		ph := &r.phases[t%r.up]
		start := t/r.up - h + ph.off // input of the first output
		n := (count - first + r.up - 1) / r.up
		if ph.pass {
			for i := range n {
				out[first+i*r.up] = toInt16(buf[start+i*r.down])
			}
			continue
		}
		sc.acc = grow(sc.acc, n)[:n]
		clear(sc.acc)
		for m, taps := range ph.lanes {
			need := n + len(taps) - 1
			if len(taps) == 0 {
				continue
			}
			lane := buf[start : start+need]
			if r.down > 1 {
				sc.lane = grow(sc.lane, need)
				lane = sc.lane[:need]
				for u := range lane {
					lane[u] = buf[start+m+u*r.down]
				}
			}
			convolve(sc.acc, taps, lane)
		}
		for i, y := range sc.acc {
			out[first+i*r.up] = toInt16(y)
		}
	}
	dst = dst[:len(dst)+count]
	r.t = t0 + count*r.down
	// Keep the last h samples and move t back by the consumed input.
	r.t -= len(src) * r.up
	copy(buf, buf[len(src):])
	r.buf = buf[:h]
	return dst
}

// Skip takes src into the filter history without computing its output,
// as if Resample had been called and the output thrown away, for a fraction
// of the work: a stream whose converted form is not needed for a while
// stays continuous for when it is needed again.
func (r *Resampler) Skip(src []int16) {
	h := r.taps - 1
	if end := (h + len(src)) * r.up; end > r.t {
		r.t += (end - r.t + r.down - 1) / r.down * r.down
	}
	r.t -= len(src) * r.up
	if len(src) >= h {
		for i, v := range src[len(src)-h:] {
			r.buf[i] = float32(v)
		}
		return
	}
	copy(r.buf, r.buf[len(src):])
	for i, v := range src {
		r.buf[h-len(src)+i] = float32(v)
	}
}

// String describes the conversion.
func (r *Resampler) String() string { return fmt.Sprintf("Resample(%d->%d)", r.from, r.to) }

// convolve adds to acc[i] the inner product of h with x[i:] for each i; x
// holds len(acc)+len(h)-1 samples.
func convolve(acc, h, x []float32) {
	i := 0
	for ; i+4 <= len(acc); i += 4 {
		y0, y1, y2, y3 := dot4(h, x[i:i+len(h)+3])
		a := acc[i : i+4 : i+4]
		a[0] += y0
		a[1] += y1
		a[2] += y2
		a[3] += y3
	}
	for ; i < len(acc); i++ {
		var y float32
		for k, c := range h {
			y += c * x[i+k]
		}
		acc[i] += y
	}
}

// dot4 returns the inner products of h with x, x[1:], x[2:] and x[3:]; x
// holds len(h)+3 samples. Four outputs per tap load and four independent
// sums keep the floating-point units busy.
func dot4(h, x []float32) (y0, y1, y2, y3 float32) {
	x = x[:len(h)+3]
	for k, c := range h {
		xx := x[k : k+4 : k+4]
		y0 += c * xx[0]
		y1 += c * xx[1]
		y2 += c * xx[2]
		y3 += c * xx[3]
	}
	return y0, y1, y2, y3
}

// toInt16 rounds v to the nearest int16 (ties to even), saturating. Adding
// 1.5·2^23 leaves the rounded integer in the low mantissa bits, which avoids
// branching on the sign.
func toInt16(v float32) int16 {
	v = min(max(v, -32768), 32767)
	return int16(int32(math.Float32bits(v+0x1.8p23)) - 0x4B400000)
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// kaiser is the Kaiser window at x in [-1, 1].
func kaiser(x float64) float64 {
	return besselI0(kaiserBeta*math.Sqrt(max(0, 1-x*x))) / besselI0(kaiserBeta)
}

// besselI0 is the modified Bessel function of the first kind, order 0.
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; term > 1e-12*sum; k++ {
		term *= (x / (2 * float64(k))) * (x / (2 * float64(k)))
		sum += term
	}
	return sum
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func resampleRate(rate int) bool {
	for _, r := range ResampleRates {
		if r == rate {
			return true
		}
	}
	return false
}
