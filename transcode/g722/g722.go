// Package g722 implements the ITU-T G.722 wideband codec at 64 kbit/s: 16 kHz
// linear PCM in, one byte per pair of samples out. It is a pure Go port of the
// public-domain fixed-point implementation by Steve Underwood (spandsp), based
// on the CMU codec, and follows the standard's block names in its comments.
//
// G.722 audio is sampled at 16 kHz, but its RTP clock rate is 8000 (RFC 3551,
// §4.5.2), a historical error kept for compatibility; that mapping belongs to
// the RTP layer. Encoder and Decoder keep per-stream state and never allocate.
package g722

// Encoder encodes 16 kHz PCM into G.722. The zero value is not ready; use
// NewEncoder.
type Encoder struct {
	low, high band
	qmf       qmf
	pending   int16 // an odd sample left over from the last Encode
	odd       bool
}

// Decoder decodes G.722 into 16 kHz PCM. The zero value is not ready; use
// NewDecoder.
type Decoder struct {
	low, high band
	qmf       qmf
}

// NewEncoder returns an encoder in the reset state.
func NewEncoder() *Encoder {
	e := &Encoder{}
	e.Reset()
	return e
}

// NewDecoder returns a decoder in the reset state.
func NewDecoder() *Decoder {
	d := &Decoder{}
	d.Reset()
	return d
}

// Reset returns the encoder to its initial state.
func (e *Encoder) Reset() {
	*e = Encoder{}
	e.low.det, e.high.det = 32, 8
}

// Reset returns the decoder to its initial state.
func (d *Decoder) Reset() {
	*d = Decoder{}
	d.low.det, d.high.det = 32, 8
}

// String names the codec.
func (e *Encoder) String() string { return "G722" }

// String names the codec.
func (d *Decoder) String() string { return "G722" }

// Encode codes pcm (16 kHz) into data, one byte per pair of samples, and
// returns the number of bytes written. An odd last sample is kept and paired
// with the first sample of the next call. data must hold (len(pcm)+1)/2 bytes.
func (e *Encoder) Encode(pcm []int16, data []byte) (int, error) {
	if len(data) < (len(pcm)+1)/2 {
		return 0, errShortBuffer
	}
	n := 0
	if e.odd && len(pcm) > 0 {
		data[0] = e.encodePair(e.pending, pcm[0])
		n, pcm, e.odd = 1, pcm[1:], false
	}
	for ; len(pcm) >= 2; pcm = pcm[2:] {
		data[n] = e.encodePair(pcm[0], pcm[1])
		n++
	}
	if len(pcm) == 1 {
		e.pending, e.odd = pcm[0], true
	}
	return n, nil
}

// Decode expands data into pcm (16 kHz), two samples per byte, and returns
// the number of samples written. pcm must hold 2*len(data) samples.
func (d *Decoder) Decode(data []byte, pcm []int16) (int, error) {
	if len(pcm) < 2*len(data) {
		return 0, errShortBuffer
	}
	for i, code := range data {
		pcm[2*i], pcm[2*i+1] = d.decodeCode(code)
	}
	return 2 * len(data), nil
}

// Quantiser and scale tables of G.722 (Tables 6-17 of the recommendation).
var (
	// q6 holds the low-band quantiser decision levels.
	q6 = [32]int32{
		0, 35, 72, 110, 150, 190, 233, 276,
		323, 370, 422, 473, 530, 587, 650, 714,
		786, 858, 940, 1023, 1121, 1219, 1339, 1458,
		1612, 1765, 1980, 2195, 2557, 2919, 0, 0,
	}
	// iln and ilp map a decision interval to the 6-bit low-band code.
	iln = [32]uint8{
		0, 63, 62, 31, 30, 29, 28, 27,
		26, 25, 24, 23, 22, 21, 20, 19,
		18, 17, 16, 15, 14, 13, 12, 11,
		10, 9, 8, 7, 6, 5, 4, 0,
	}
	ilp = [32]uint8{
		0, 61, 60, 59, 58, 57, 56, 55,
		54, 53, 52, 51, 50, 49, 48, 47,
		46, 45, 44, 43, 42, 41, 40, 39,
		38, 37, 36, 35, 34, 33, 32, 0,
	}
	// qm6 and qm4 are the 6- and 4-bit low-band inverse quantisers, qm2 the
	// 2-bit high-band one.
	qm6 = [64]int32{
		-136, -136, -136, -136, -24808, -21904, -19008, -16704,
		-14984, -13512, -12280, -11192, -10232, -9360, -8576, -7856,
		-7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576,
		-3168, -2776, -2400, -2032, -1688, -1360, -1040, -728,
		24808, 21904, 19008, 16704, 14984, 13512, 12280, 11192,
		10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456,
		4944, 4464, 4008, 3576, 3168, 2776, 2400, 2032,
		1688, 1360, 1040, 728, 432, 136, -432, -136,
	}
	qm4 = [16]int32{
		0, -20456, -12896, -8968, -6288, -4240, -2584, -1200,
		20456, 12896, 8968, 6288, 4240, 2584, 1200, 0,
	}
	qm2 = [4]int32{-7408, -1616, 7408, 1616}
	// wl and rl42 adapt the low-band scale factor, wh and rh2 the high band.
	wl   = [8]int32{-60, -30, 58, 172, 334, 538, 1198, 3042}
	rl42 = [16]uint8{0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0}
	wh   = [3]int32{0, -214, 798}
	rh2  = [4]uint8{2, 1, 2, 1}
	// ilb is the inverse logarithmic scale table.
	ilb = [32]int32{
		2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383,
		2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834,
		2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371,
		3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
	}
	// The 24-tap quadrature mirror filter, as 12 coefficients used twice.
	qmfCoeffs = [12]int32{3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11}
)

// encodePair runs the transmit QMF over two input samples and codes the low
// and high sub-band samples into one byte.
func (e *Encoder) encodePair(s0, s1 int16) byte {
	e.qmf.push(int32(s0))
	w := e.qmf.push(int32(s1))
	var sumOdd, sumEven int32
	for i := range 12 {
		sumOdd += w[2*i] * qmfCoeffs[i]
		sumEven += w[2*i+1] * qmfCoeffs[11-i]
	}
	xlow := (sumEven + sumOdd) >> 14
	xhigh := (sumEven - sumOdd) >> 14

	// Block 1L, SUBTRA and QUANTL.
	el := sat(xlow - e.low.s)
	wd := el
	if el < 0 {
		wd = -(el + 1)
	}
	i := 1
	for ; i < 30; i++ {
		if wd < (q6[i]*e.low.det)>>12 {
			break
		}
	}
	ilow := ilp[i]
	if el < 0 {
		ilow = iln[i]
	}
	// Block 2L, INVQAL; blocks 3L and 4L.
	ril := ilow >> 2
	e.low.update((e.low.det*qm4[ril])>>15, wl[rl42[ril]], 18432, 8)

	// Block 1H, SUBTRA and QUANTH.
	eh := sat(xhigh - e.high.s)
	wd = eh
	if eh < 0 {
		wd = -(eh + 1)
	}
	mih := 1
	if wd >= (564*e.high.det)>>12 {
		mih = 2
	}
	ihigh := [3]uint8{0, 3, 2}[mih]
	if eh < 0 {
		ihigh = [3]uint8{0, 1, 0}[mih]
	}
	// Block 2H, INVQAH; blocks 3H and 4H.
	e.high.update((e.high.det*qm2[ihigh])>>15, wh[rh2[ihigh]], 22528, 10)
	return ihigh<<6 | ilow
}

// decodeCode decodes one byte into two output samples.
func (d *Decoder) decodeCode(code byte) (int16, int16) {
	// Block 5L, INVQBL and RECONS; block 6L, LIMIT.
	ilow := code & 0x3F
	rlow := min(max(d.low.s+(d.low.det*qm6[ilow])>>15, -16384), 16383)
	// Block 2L, INVQAL; blocks 3L and 4L.
	ril := ilow >> 2
	d.low.update((d.low.det*qm4[ril])>>15, wl[rl42[ril]], 18432, 8)

	// Block 2H, INVQAH; block 5H, RECONS; block 6H, LIMIT.
	ihigh := code >> 6
	dhigh := (d.high.det * qm2[ihigh]) >> 15
	rhigh := min(max(d.high.s+dhigh, -16384), 16383)
	// Blocks 3H and 4H.
	d.high.update(dhigh, wh[rh2[ihigh]], 22528, 10)

	// Receive QMF.
	d.qmf.push(rlow + rhigh)
	w := d.qmf.push(rlow - rhigh)
	var out1, out2 int32
	for i := range 12 {
		out2 += w[2*i] * qmfCoeffs[i]
		out1 += w[2*i+1] * qmfCoeffs[11-i]
	}
	return int16(sat(out1 >> 11)), int16(sat(out2 >> 11))
}

// qmf is the 24-sample delay line of a quadrature mirror filter, stored twice
// over so that the newest 24 samples are always contiguous.
type qmf struct {
	x   [48]int32
	pos int
}

// push adds a sample and returns the last 24 samples, oldest first.
func (q *qmf) push(v int32) []int32 {
	q.x[q.pos], q.x[q.pos+24] = v, v
	q.pos++
	if q.pos == 24 {
		q.pos = 0
	}
	return q.x[q.pos : q.pos+24]
}

// band is the adaptive predictor and scale factor state of one sub-band.
type band struct {
	s, sp, sz int32    // predictor output, pole and zero sections
	r, p, a   [3]int32 // reconstructed signal, partial signal, pole coefficients
	d, b      [7]int32 // quantised differences, zero coefficients
	nb, det   int32    // log scale factor and scale factor
}

// update adapts the band to a new quantised difference d: blocks 3 (LOGSC,
// SCALE: log-scale step w, ceiling nbMax, table shift) and 4 (RECONS,
// PARREC, UPPOL2, UPPOL1, UPZERO, DELAYA, FILTEP, FILTEZ, PREDIC).
func (bd *band) update(d, w, nbMax, shift int32) {
	// Block 3, LOGSC and SCALE.
	bd.nb = min(max((bd.nb*127)>>7+w, 0), nbMax)
	wd1 := (bd.nb >> 6) & 31
	wd2 := shift - bd.nb>>11
	if wd2 < 0 {
		bd.det = (ilb[wd1] << -wd2) << 2
	} else {
		bd.det = (ilb[wd1] >> wd2) << 2
	}

	// RECONS and PARREC.
	bd.d[0] = d
	bd.r[0] = sat(bd.s + d)
	bd.p[0] = sat(bd.sz + d)

	// UPPOL2.
	var ap [3]int32
	sg0, sg1, sg2 := bd.p[0]>>15, bd.p[1]>>15, bd.p[2]>>15
	wa := sat(bd.a[1] << 2)
	if sg0 == sg1 {
		wa = -wa
	}
	wa = min(wa, 32767)
	wb := wa >> 7
	if sg0 == sg2 {
		wb += 128
	} else {
		wb -= 128
	}
	wb += (bd.a[2] * 32512) >> 15
	ap[2] = min(max(wb, -12288), 12288)

	// UPPOL1.
	wa = -192
	if sg0 == sg1 {
		wa = 192
	}
	ap[1] = sat(wa + (bd.a[1]*32640)>>15)
	lim := sat(15360 - ap[2])
	ap[1] = min(max(ap[1], -lim), lim)

	// UPZERO and DELAYA for the zero section.
	step := int32(128)
	if d == 0 {
		step = 0
	}
	sgd := d >> 15
	var bp [7]int32
	for i := 1; i < 7; i++ {
		wa = step
		if bd.d[i]>>15 != sgd {
			wa = -step
		}
		bp[i] = sat(wa + (bd.b[i]*32640)>>15)
	}
	for i := 6; i > 0; i-- {
		bd.d[i] = bd.d[i-1]
		bd.b[i] = bp[i]
	}
	// DELAYA for the pole section.
	for i := 2; i > 0; i-- {
		bd.r[i] = bd.r[i-1]
		bd.p[i] = bd.p[i-1]
		bd.a[i] = ap[i]
	}

	// FILTEP.
	wa = (bd.a[1] * sat(bd.r[1]+bd.r[1])) >> 15
	wb = (bd.a[2] * sat(bd.r[2]+bd.r[2])) >> 15
	bd.sp = sat(wa + wb)

	// FILTEZ.
	var sz int32
	for i := 6; i > 0; i-- {
		sz += (bd.b[i] * sat(bd.d[i]+bd.d[i])) >> 15
	}
	bd.sz = sat(sz)

	// PREDIC.
	bd.s = sat(bd.sp + bd.sz)
}

// sat saturates v to the int16 range.
func sat(v int32) int32 { return min(max(v, -32768), 32767) }
