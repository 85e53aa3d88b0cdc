package record

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"time"
)

// headerSize is the size of the canonical header New writes: RIFF, fmt and
// the data chunk's header. The RIFF size is at offset 4, the data size at 40.
const headerSize = 44

// maxData is the largest data chunk a file with the canonical header can
// describe, rounded down to whole stereo frames.
const maxData = (1<<32 - 1 - (headerSize - 8)) &^ 3

// Info describes a recording's WAV file.
type Info struct {
	SampleRate int
	Channels   int
	// Frames is the number of samples per channel.
	Frames int64
	// Repaired is set by Repair when it had to rewrite the file.
	Repaired bool

	dataOffset int64 // where the samples start
}

// Duration is the length of the audio.
func (i Info) Duration() time.Duration {
	if i.SampleRate <= 0 {
		return 0
	}
	return time.Duration(i.Frames * int64(time.Second) / int64(i.SampleRate))
}

// blockAlign is the size in bytes of one sample on every channel.
func (i Info) blockAlign() int64 { return int64(i.Channels) * 2 }

// putHeader fills b[:headerSize] with a 16-bit PCM header for dataBytes of
// samples.
func putHeader(b []byte, rate, channels int, dataBytes uint32) {
	le := binary.LittleEndian
	copy(b[0:], "RIFF")
	le.PutUint32(b[4:], headerSize-8+dataBytes)
	copy(b[8:], "WAVEfmt ")
	le.PutUint32(b[16:], 16)
	le.PutUint16(b[20:], 1) // WAVE_FORMAT_PCM
	le.PutUint16(b[22:], uint16(channels))
	le.PutUint32(b[24:], uint32(rate))
	le.PutUint32(b[28:], uint32(rate*channels*2))
	le.PutUint16(b[32:], uint16(channels*2))
	le.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	le.PutUint32(b[40:], dataBytes)
}

// header is what parseHeader finds in a file of a given size.
type header struct {
	Info
	riffSize int64 // as declared
	dataSize int64 // as declared
}

// parseHeader reads the chunks of a WAV file of size bytes up to the start
// of the data chunk. It accepts any chunk layout with "fmt " before "data",
// but only 16-bit PCM with 1 or 2 channels.
func parseHeader(r io.ReaderAt, size int64) (header, error) {
	var h header
	var b [24]byte
	le := binary.LittleEndian
	if size < 12 {
		return h, fmt.Errorf("%w: %d bytes, no header", ErrCorrupt, size)
	}
	if _, err := r.ReadAt(b[:12], 0); err != nil {
		return h, err
	}
	if string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return h, fmt.Errorf("%w: no RIFF/WAVE signature", ErrCorrupt)
	}
	h.riffSize = int64(le.Uint32(b[4:]))
	haveFmt := false
	for off := int64(12); ; {
		if off+8 > size {
			return h, fmt.Errorf("%w: no data chunk", ErrCorrupt)
		}
		if _, err := r.ReadAt(b[:8], off); err != nil {
			return h, err
		}
		id, n := string(b[0:4]), int64(le.Uint32(b[4:]))
		switch id {
		case "fmt ":
			if n < 16 || off+8+16 > size {
				return h, fmt.Errorf("%w: short fmt chunk", ErrCorrupt)
			}
			if _, err := r.ReadAt(b[:16], off+8); err != nil {
				return h, err
			}
			format, ch := le.Uint16(b[0:]), int(le.Uint16(b[2:]))
			rate, align, bits := int(le.Uint32(b[4:])), int(le.Uint16(b[12:])), le.Uint16(b[14:])
			if format != 1 || bits != 16 || ch < 1 || ch > 2 || align != 2*ch || rate < 1000 || rate > 192000 {
				return h, fmt.Errorf("%w: format %d, %d bits, %d channels at %d Hz", ErrCorrupt, format, bits, ch, rate)
			}
			h.SampleRate, h.Channels, haveFmt = rate, ch, true
		case "data":
			if !haveFmt {
				return h, fmt.Errorf("%w: data before fmt", ErrCorrupt)
			}
			h.dataOffset, h.dataSize = off+8, n
			return h, nil
		}
		off += 8 + n + n&1
	}
}

// Stat reads the header of the WAV file at path. Frames counts the samples
// the header declares that the file really holds.
func Stat(path string) (Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return Info{}, err
	}
	defer f.Close()
	info, _, err := stat(f)
	if err != nil {
		return Info{}, fmt.Errorf("stat %s: %w", path, err)
	}
	return info, nil
}

// stat parses f's header and also reports whether the sizes it declares
// match the file (false after a crash).
func stat(f *os.File) (info Info, consistent bool, err error) {
	st, err := f.Stat()
	if err != nil {
		return Info{}, false, err
	}
	size := st.Size()
	h, err := parseHeader(f, size)
	if err != nil {
		return Info{}, false, err
	}
	info = h.Info
	block := info.blockAlign()
	avail := size - h.dataOffset
	n := min(h.dataSize, avail)
	info.Frames = (n - n%block) / block
	consistent = h.riffSize+8 == size && h.dataSize <= avail && h.dataSize%block == 0
	return info, consistent, nil
}

// Repair makes the WAV file at path, left behind by a crashed Recorder,
// whole again: the samples run to the end of the file, a partial trailing
// sample is cut off, and the RIFF and data sizes are rewritten. A file whose
// header already matches its length is left alone. A file with no usable
// header yields an error wrapping ErrCorrupt and is not modified.
func Repair(path string) (Info, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return Info{}, err
	}
	defer f.Close()
	info, ok, err := stat(f)
	if err != nil {
		return Info{}, fmt.Errorf("repair %s: %w", path, err)
	}
	if ok {
		return info, nil
	}
	st, err := f.Stat()
	if err != nil {
		return Info{}, err
	}
	block := info.blockAlign()
	data := min(st.Size()-info.dataOffset, 1<<32-1-(info.dataOffset-8))
	data -= data % block
	if err := f.Truncate(info.dataOffset + data); err != nil {
		return Info{}, fmt.Errorf("repair %s: %w", path, err)
	}
	if err := writeSizes(f, info.dataOffset, data); err != nil {
		return Info{}, fmt.Errorf("repair %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return Info{}, fmt.Errorf("repair %s: %w", path, err)
	}
	info.Frames, info.Repaired = data/block, true
	return info, f.Close()
}

// writeSizes rewrites the RIFF size and the size of the data chunk whose
// samples start at dataOffset.
func writeSizes(f io.WriterAt, dataOffset, data int64) error {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(dataOffset+data-8))
	if _, err := f.WriteAt(b[:], 4); err != nil {
		return err
	}
	binary.LittleEndian.PutUint32(b[:], uint32(data))
	_, err := f.WriteAt(b[:], dataOffset-4)
	return err
}
