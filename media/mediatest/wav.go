package mediatest

import (
	"encoding/binary"
	"fmt"
	"io"
)

// WriteWAV writes samples as a 16-bit mono PCM WAV file at rate Hz, for
// listening to what a test produced.
func WriteWAV(w io.Writer, rate int, samples []int16) error {
	data := uint32(2 * len(samples))
	h := make([]byte, 0, 44)
	h = append(h, "RIFF"...)
	h = binary.LittleEndian.AppendUint32(h, 36+data)
	h = append(h, "WAVEfmt "...)
	h = binary.LittleEndian.AppendUint32(h, 16)
	h = binary.LittleEndian.AppendUint16(h, 1) // PCM
	h = binary.LittleEndian.AppendUint16(h, 1) // mono
	h = binary.LittleEndian.AppendUint32(h, uint32(rate))
	h = binary.LittleEndian.AppendUint32(h, uint32(2*rate))
	h = binary.LittleEndian.AppendUint16(h, 2)
	h = binary.LittleEndian.AppendUint16(h, 16)
	h = append(h, "data"...)
	h = binary.LittleEndian.AppendUint32(h, data)
	if _, err := w.Write(h); err != nil {
		return err
	}
	return binary.Write(w, binary.LittleEndian, samples)
}

// ReadWAV reads a 16-bit mono PCM WAV file and returns its rate and samples.
// Chunks other than "fmt " and "data" are skipped.
func ReadWAV(r io.Reader) (rate int, samples []int16, err error) {
	var riff [12]byte
	if _, err := io.ReadFull(r, riff[:]); err != nil {
		return 0, nil, fmt.Errorf("read wav header: %w", err)
	}
	if string(riff[0:4]) != "RIFF" || string(riff[8:12]) != "WAVE" {
		return 0, nil, errNotWAV
	}
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			return 0, nil, fmt.Errorf("read wav chunk: %w", err)
		}
		size := binary.LittleEndian.Uint32(ch[4:])
		switch string(ch[:4]) {
		case "fmt ":
			if size < 16 {
				return 0, nil, errNotWAV
			}
			b := make([]byte, size+size&1)
			if _, err := io.ReadFull(r, b); err != nil {
				return 0, nil, fmt.Errorf("read wav fmt: %w", err)
			}
			le := binary.LittleEndian
			if le.Uint16(b[0:]) != 1 || le.Uint16(b[2:]) != 1 || le.Uint16(b[14:]) != 16 {
				return 0, nil, errNotWAV
			}
			rate = int(le.Uint32(b[4:]))
		case "data":
			if rate == 0 {
				return 0, nil, errNotWAV
			}
			samples = make([]int16, size/2)
			if err := binary.Read(r, binary.LittleEndian, samples); err != nil {
				return 0, nil, fmt.Errorf("read wav data: %w", err)
			}
			return rate, samples, nil
		default:
			if _, err := io.CopyN(io.Discard, r, int64(size+size&1)); err != nil {
				return 0, nil, fmt.Errorf("skip wav chunk: %w", err)
			}
		}
	}
}
