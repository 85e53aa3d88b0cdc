package mediatest

import "math"

// Envelope is the level of each 20 ms of x at rate, in dBFS, floored at -60:
// the contour of speech, which survives codecs and resampling.
func Envelope(x []int16, rate int) []float64 {
	n := rate / 50
	var env []float64
	for i := 0; i+n <= len(x); i += n {
		var sum float64
		for _, v := range x[i : i+n] {
			sum += float64(v) * float64(v)
		}
		env = append(env, max(-60, 10*math.Log10(sum/float64(n)/(32768*32768)+1e-12)))
	}
	return env
}

// Voiced is how long x is louder than -40 dBFS, in seconds.
func Voiced(x []int16, rate int) float64 {
	n := 0
	for _, l := range Envelope(x, rate) {
		if l > -40 {
			n++
		}
	}
	return float64(n) / 50
}

// Similarity is the best correlation of want's level contour with that of a
// stretch of heard, both at rate: near 1 when heard holds the same speech
// (the same synthesized sentence), far lower for other speech.
func Similarity(heard, want []int16, rate int) float64 {
	h, w := Envelope(heard, rate), Envelope(want, rate)
	best := -1.0
	for lag := 0; lag+len(w) <= len(h); lag++ {
		best = max(best, correlation(h[lag:lag+len(w)], w))
	}
	return best
}

func correlation(a, b []float64) float64 {
	var ma, mb float64
	for i := range a {
		ma += a[i]
		mb += b[i]
	}
	ma /= float64(len(a))
	mb /= float64(len(b))
	var sab, saa, sbb float64
	for i := range a {
		sab += (a[i] - ma) * (b[i] - mb)
		saa += (a[i] - ma) * (a[i] - ma)
		sbb += (b[i] - mb) * (b[i] - mb)
	}
	return sab / math.Sqrt(saa*sbb+1e-12)
}
