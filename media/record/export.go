package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Format is an export format, named as in the download route's ?format=.
type Format string

// The export formats.
const (
	MP3 Format = "mp3" // MPEG-1/2 layer III, constant bit rate
	Ogg Format = "ogg" // Opus in Ogg (RFC 7845)
)

// encoder compresses interleaved PCM into a stream.
type encoder interface {
	// encode takes any number of whole frames (a sample of every channel).
	encode(pcm []int16) error
	// flush encodes what is buffered and writes the end of the stream.
	flush() error
	// close frees the encoder; it is idempotent.
	close()
}

// newEncoder returns the encoder of format writing to w.
func newEncoder(w io.Writer, format Format, rate, channels int) (encoder, error) {
	var enc encoder
	var err error
	switch format {
	case MP3:
		enc, err = newMP3(w, rate, channels)
	case Ogg:
		enc, err = newOggOpus(w, rate, channels)
	default:
		err = fmt.Errorf("%w: %q", ErrUnsupportedFormat, format)
	}
	if err != nil {
		return nil, err
	}
	return enc, nil
}

// Export encodes the WAV file at src, a finished (or repaired) recording,
// into format and writes it to w.
func Export(w io.Writer, src string, format Format) error {
	if format != MP3 && format != Ogg {
		return fmt.Errorf("%w: %q", ErrUnsupportedFormat, format)
	}
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	info, _, err := stat(f)
	if err != nil {
		return fmt.Errorf("export %s: %w", src, err)
	}
	enc, err := newEncoder(w, format, info.SampleRate, info.Channels)
	if err != nil {
		return fmt.Errorf("export %s: %w", src, err)
	}
	defer enc.close()

	data := io.NewSectionReader(f, info.dataOffset, info.Frames*info.blockAlign())
	buf := make([]byte, info.SampleRate/2*int(info.blockAlign())) // half a second
	pcm := make([]int16, len(buf)/2)
	for {
		n, err := io.ReadFull(data, buf)
		for i := range n / 2 {
			pcm[i] = int16(binary.LittleEndian.Uint16(buf[2*i:]))
		}
		if n > 0 {
			if err := enc.encode(pcm[:n/2]); err != nil {
				return fmt.Errorf("export %s: %w", src, err)
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("export %s: %w", src, err)
		}
	}
	if err := enc.flush(); err != nil {
		return fmt.Errorf("export %s: %w", src, err)
	}
	return nil
}

// ExportFile encodes the WAV file at src into format and writes it to dst,
// replacing dst only once the whole file is written. The result can be
// served with http.ServeContent, which honours Range.
func ExportFile(src, dst string, format Format) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(dst), filepath.Base(dst)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := Export(tmp, src, format); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}
