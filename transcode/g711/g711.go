// Package g711 implements ITU-T G.711 μ-law (PCMU) and A-law (PCMA) coding
// of 16-bit linear PCM, following the ITU-T G.191 reference (g711.c). Both
// directions are table lookups: no allocation, no state.
package g711

// Law is a G.711 companding law. Its Encode and Decode methods code whole
// frames with the signatures transcode expects of a codec.
type Law uint8

// The two laws, named by their SDP encoding names.
const (
	PCMU Law = iota + 1 // μ-law, North America and Japan
	PCMA                // A-law, elsewhere
)

// String returns the SDP encoding name.
func (l Law) String() string {
	switch l {
	case PCMU:
		return "PCMU"
	case PCMA:
		return "PCMA"
	}
	return "G711(invalid)"
}

// Encode codes pcm into data, one byte per sample, and returns len(pcm).
func (l Law) Encode(pcm []int16, data []byte) (int, error) {
	if len(data) < len(pcm) {
		return 0, errShortBuffer
	}
	data = data[:len(pcm)]
	switch l {
	case PCMU:
		for i, s := range pcm {
			data[i] = ulawEncode[uint16(s)>>2]
		}
	case PCMA:
		for i, s := range pcm {
			data[i] = alawEncode[uint16(s)>>4]
		}
	default:
		return 0, errInvalidLaw
	}
	return len(pcm), nil
}

// Decode expands data into pcm, one sample per byte, and returns len(data).
func (l Law) Decode(data []byte, pcm []int16) (int, error) {
	if len(pcm) < len(data) {
		return 0, errShortBuffer
	}
	var table *[256]int16
	switch l {
	case PCMU:
		table = &ulawDecode
	case PCMA:
		table = &alawDecode
	default:
		return 0, errInvalidLaw
	}
	pcm = pcm[:len(data)]
	for i, b := range data {
		pcm[i] = table[b]
	}
	return len(data), nil
}

// EncodeULaw returns the μ-law code of one linear sample.
func EncodeULaw(s int16) byte { return ulawEncode[uint16(s)>>2] }

// DecodeULaw returns the linear value of one μ-law code.
func DecodeULaw(b byte) int16 { return ulawDecode[b] }

// EncodeALaw returns the A-law code of one linear sample.
func EncodeALaw(s int16) byte { return alawEncode[uint16(s)>>4] }

// DecodeALaw returns the linear value of one A-law code.
func DecodeALaw(b byte) int16 { return alawDecode[b] }

// The tables are built once from the G.191 reference algorithms below. μ-law
// uses the 14 most significant bits of a sample and A-law the 13 most
// significant, so the encode tables are indexed by the sample's top bits.
var (
	ulawDecode = buildDecode(ulawExpand)
	alawDecode = buildDecode(alawExpand)
	ulawEncode = buildEncode[[1 << 14]byte](2, ulawCompress)
	alawEncode = buildEncode[[1 << 12]byte](4, alawCompress)
)

func buildDecode(expand func(byte) int16) (t [256]int16) {
	for i := range t {
		t[i] = expand(byte(i))
	}
	return t
}

// buildEncode fills a table indexed by uint16(sample)>>shift.
func buildEncode[T [1 << 14]byte | [1 << 12]byte](shift uint, compress func(int16) byte) (t T) {
	for i := range len(t) {
		t[i] = compress(int16(uint16(i) << shift))
	}
	return t
}

// ulawCompress is G.191's ulaw_compress for one sample.
func ulawCompress(lin int16) byte {
	var absno int32
	if lin < 0 {
		absno = int32(^lin)>>2 + 33
	} else {
		absno = int32(lin)>>2 + 33
	}
	absno = min(absno, 0x1FFF)
	segno := int32(1)
	for i := absno >> 6; i != 0; i >>= 1 {
		segno++
	}
	high := 8 - segno
	low := 0xF - (absno>>segno)&0xF
	code := byte(high<<4 | low)
	if lin >= 0 {
		code |= 0x80
	}
	return code
}

// ulawExpand is G.191's ulaw_expand for one code.
func ulawExpand(code byte) int16 {
	sign := int32(1)
	if code < 0x80 {
		sign = -1
	}
	m := int32(^code)
	exponent := (m >> 4) & 7
	step := int32(4) << (exponent + 1)
	return int16(sign * (0x80<<exponent + step*(m&0xF) + step/2 - 4*33))
}

// alawCompress is G.191's alaw_compress for one sample.
func alawCompress(lin int16) byte {
	var ix int32
	if lin < 0 {
		ix = int32(^lin) >> 4
	} else {
		ix = int32(lin) >> 4
	}
	if ix > 15 {
		exp := int32(1)
		for ix > 16+15 {
			ix >>= 1
			exp++
		}
		ix += exp<<4 - 16
	}
	if lin >= 0 {
		ix |= 0x80
	}
	return byte(ix) ^ 0x55
}

// alawExpand is G.191's alaw_expand for one code.
func alawExpand(code byte) int16 {
	ix := int32(code^0x55) & 0x7F
	exp := ix >> 4
	mant := ix & 0xF
	if exp > 0 {
		mant += 16
	}
	mant = mant<<4 + 8
	if exp > 1 {
		mant <<= exp - 1
	}
	if code > 0x7F {
		return int16(mant)
	}
	return int16(-mant)
}
