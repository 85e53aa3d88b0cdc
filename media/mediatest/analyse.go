package mediatest

import (
	"math"
	"math/cmplx"
	"testing"
)

// Measurement describes a tone found in a block of samples.
type Measurement struct {
	// Peak is the dominant frequency of the block in Hz (windowed FFT with
	// interpolation between bins).
	Peak float64
	// Level is the level of the component at the expected frequency, in dBFS.
	Level float64
	// SNR is the power of that component over the power of everything else
	// (noise, distortion, other tones), in dB. DC is not counted as noise.
	SNR float64
}

// Measure analyses x, sampled at rate Hz, for a tone of freq Hz. The level
// and SNR come from a least-squares fit of a sine of exactly freq Hz (any
// phase, so codec delay does not matter) plus DC; the residual is the noise.
func Measure(x []int16, rate int, freq float64) Measurement {
	a, res := fitSine(x, rate, freq)
	snr := math.Inf(1)
	if res > 0 {
		snr = 10 * math.Log10(a*a/2*float64(len(x))/res)
	}
	return Measurement{Peak: PeakFrequency(x, rate), Level: DBFS(a), SNR: snr}
}

// Level returns the level in dBFS of the component of x at freq Hz.
func Level(x []int16, rate int, freq float64) float64 {
	a, _ := fitSine(x, rate, freq)
	return DBFS(a)
}

// SNR returns the ratio in dB of the tone at freq Hz in x to the residual
// left after subtracting the best-fitting sine of that frequency and DC.
func SNR(x []int16, rate int, freq float64) float64 { return Measure(x, rate, freq).SNR }

// fitSine fits x[n] ≈ p·sin(wn) + q·cos(wn) + c and returns the sine's
// amplitude and the residual energy.
func fitSine(x []int16, rate int, freq float64) (amp, residual float64) {
	if len(x) == 0 {
		return 0, 0
	}
	w := 2 * math.Pi * freq / float64(rate)
	// Normal equations of the 3-parameter fit.
	var m [3][4]float64
	for n, v := range x {
		s, c := math.Sincos(w * float64(n))
		b := [3]float64{s, c, 1}
		for i := range 3 {
			for j := range 3 {
				m[i][j] += b[i] * b[j]
			}
			m[i][3] += b[i] * float64(v)
		}
	}
	p, ok := solve3(m)
	if !ok {
		return 0, 0
	}
	for n, v := range x {
		s, c := math.Sincos(w * float64(n))
		e := float64(v) - (p[0]*s + p[1]*c + p[2])
		residual += e * e
	}
	return math.Hypot(p[0], p[1]), residual
}

// solve3 solves a 3×3 linear system given as an augmented matrix by Gaussian
// elimination with partial pivoting.
func solve3(m [3][4]float64) ([3]float64, bool) {
	for col := range 3 {
		piv := col
		for r := col + 1; r < 3; r++ {
			if math.Abs(m[r][col]) > math.Abs(m[piv][col]) {
				piv = r
			}
		}
		if math.Abs(m[piv][col]) < 1e-9 {
			return [3]float64{}, false
		}
		m[col], m[piv] = m[piv], m[col]
		for r := range 3 {
			if r == col {
				continue
			}
			f := m[r][col] / m[col][col]
			for k := col; k < 4; k++ {
				m[r][k] -= f * m[col][k]
			}
		}
	}
	return [3]float64{m[0][3] / m[0][0], m[1][3] / m[1][1], m[2][3] / m[2][2]}, true
}

// PeakFrequency returns the dominant frequency of x in Hz, found with a
// Hann-windowed FFT and Gaussian interpolation between the bins around the
// peak. It ignores DC and returns 0 for silence or very short input.
func PeakFrequency(x []int16, rate int) float64 {
	if len(x) < 4 {
		return 0
	}
	n := 1
	for n < len(x) {
		n <<= 1
	}
	buf := make([]complex128, n)
	for i, v := range x {
		w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(len(x)-1))
		buf[i] = complex(w*float64(v), 0)
	}
	fft(buf)
	mag := make([]float64, n/2+1)
	for i := range mag {
		mag[i] = cmplx.Abs(buf[i])
	}
	k := 0
	for i := 2; i < n/2; i++ { // skip DC and the bin beside it
		if mag[i] > mag[k] {
			k = i
		}
	}
	if k == 0 || mag[k] == 0 {
		return 0
	}
	delta := 0.0
	if l, r := mag[k-1], mag[k+1]; l > 0 && r > 0 {
		a, b, c := math.Log(l), math.Log(mag[k]), math.Log(r)
		if d := a - 2*b + c; d != 0 {
			delta = 0.5 * (a - c) / d
		}
	}
	return (float64(k) + delta) * float64(rate) / float64(n)
}

// fft is an in-place iterative radix-2 FFT; len(a) must be a power of two.
func fft(a []complex128) {
	n := len(a)
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j |= bit
		if i < j {
			a[i], a[j] = a[j], a[i]
		}
	}
	for size := 2; size <= n; size <<= 1 {
		step := cmplx.Exp(complex(0, -2*math.Pi/float64(size)))
		for start := 0; start < n; start += size {
			w := complex(1, 0)
			for k := range size / 2 {
				u, v := a[start+k], a[start+k+size/2]*w
				a[start+k], a[start+k+size/2] = u+v, u-v
				w *= step
			}
		}
	}
}

// Goertzel returns the level in dBFS of the frequency freq Hz in x, computed
// with the Goertzel algorithm over the whole block. It is cheap and suits
// detectors (DTMF, tone presence); prefer Measure for exact levels, as a
// block that is not a whole number of periods leaks a little.
func Goertzel(x []int16, rate int, freq float64) float64 {
	if len(x) == 0 {
		return math.Inf(-1)
	}
	coef := 2 * math.Cos(2*math.Pi*freq/float64(rate))
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = float64(v)+coef*s1-s2, s1
	}
	power := s1*s1 + s2*s2 - coef*s1*s2
	return DBFS(2 * math.Sqrt(max(power, 0)) / float64(len(x)))
}

// ToneWant is what CheckTone expects of a block of samples.
type ToneWant struct {
	Freq   float64 // Hz
	Level  float64 // dBFS
	MinSNR float64 // dB

	// FreqTol is the allowed error of the peak frequency in Hz; 0 means
	// 1% of Freq or 2 Hz, whichever is larger.
	FreqTol float64
	// LevelTol is the allowed level error in dB; 0 means 1 dB.
	LevelTol float64
}

// CheckTone measures x (sampled at rate Hz) and reports a test error when the
// dominant frequency, the level or the SNR is not what want says. It returns
// the measurement so callers can log or check more.
func CheckTone(tb testing.TB, x []int16, rate int, want ToneWant) Measurement {
	tb.Helper()
	m := Measure(x, rate, want.Freq)
	ftol := want.FreqTol
	if ftol == 0 {
		ftol = max(2, want.Freq/100)
	}
	ltol := want.LevelTol
	if ltol == 0 {
		ltol = 1
	}
	if math.Abs(m.Peak-want.Freq) > ftol {
		tb.Errorf("tone peak at %.1f Hz, want %.1f Hz ± %.1f", m.Peak, want.Freq, ftol)
	}
	if math.Abs(m.Level-want.Level) > ltol {
		tb.Errorf("tone level %.2f dBFS, want %.2f dBFS ± %.1f dB", m.Level, want.Level, ltol)
	}
	if m.SNR < want.MinSNR {
		tb.Errorf("tone SNR %.1f dB, want ≥ %.1f dB", m.SNR, want.MinSNR)
	}
	return m
}

// FindTone returns where a tone of freq Hz first reaches minLevel dBFS in x
// (sampled at rate Hz), for latency checks: the start of the first 10 ms
// window, stepped by 1 ms, whose Goertzel level is at least minLevel. A
// window that catches the onset of a tone at level L reads about L + 20·log10
// of the fraction it covers, so with minLevel 6 dB under the tone's level the
// answer is within about 5 ms of the onset. ok is false if the tone never
// reaches minLevel.
func FindTone(x []int16, rate int, freq, minLevel float64) (at int, ok bool) {
	win, step := rate/100, max(1, rate/1000)
	for at = 0; at+win <= len(x); at += step {
		if Goertzel(x[at:at+win], rate, freq) >= minLevel {
			return at, true
		}
	}
	return 0, false
}
