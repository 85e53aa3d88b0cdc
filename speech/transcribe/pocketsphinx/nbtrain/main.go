// Command nbtrain prepares the adaptation of pocketsphinx's en-us model to
// telephone audio (scripts/narrowband-model.sh runs it):
//
//	nbtrain telephone OUTDIR IN.wav...   degrade 16 kHz WAVs as a G.711 leg does, to OUTDIR/NAME.raw (16 kHz s16le)
//	nbtrain mixw SENDUMP OUT             rebuild the mixture_weights file sphinxtrain needs from the model's sendump
package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/voxgate/voxgate/media/mediatest"
	"github.com/voxgate/voxgate/speech/transcribe/transcribetest"
)

func main() {
	var err error
	switch {
	case len(os.Args) >= 4 && os.Args[1] == "telephone":
		err = telephone(os.Args[2], os.Args[3:])
	case len(os.Args) == 4 && os.Args[1] == "mixw":
		err = mixw(os.Args[2], os.Args[3])
	default:
		err = errors.New("usage: nbtrain telephone OUTDIR IN.wav... | nbtrain mixw SENDUMP OUT")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "nbtrain:", err)
		os.Exit(1)
	}
}

// telephone writes each 16 kHz WAV degraded by transcribetest.Telephone
// (the gateway's resampler and μ-law) as raw 16 kHz samples.
func telephone(dir string, wavs []string) error {
	for _, in := range wavs {
		f, err := os.Open(in)
		if err != nil {
			return err
		}
		rate, pcm, err := mediatest.ReadWAV(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", in, err)
		}
		if rate != 16000 {
			return fmt.Errorf("%s: %d Hz, want 16000", in, rate)
		}
		out := filepath.Join(dir, strings.TrimSuffix(filepath.Base(in), ".wav")+".raw")
		buf := make([]byte, 0, 2*len(pcm))
		for _, v := range transcribetest.Telephone(pcm) {
			buf = binary.LittleEndian.AppendUint16(buf, uint16(v))
		}
		if err := os.WriteFile(out, buf, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// mixw reads a semi-continuous or PTM model's sendump (8-bit quantized
// -log mixture weights, as pocketsphinx loads them) and writes the
// equivalent Sphinx-3 mixture_weights file (float32, senone × feature ×
// codeword, each distribution normalized).
func mixw(in, out string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var feats, codewords, senones int32
	readInt := func() (int32, error) {
		var v int32
		err := binary.Read(r, binary.LittleEndian, &v)
		return v, err
	}
	for { // header strings, up to a zero length
		n, err := readInt()
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
		if n < 0 || n > 4096 {
			return fmt.Errorf("sendump: header string of %d bytes", n)
		}
		s := make([]byte, n)
		if _, err := io.ReadFull(r, s); err != nil {
			return err
		}
		k, v, _ := strings.Cut(strings.TrimRight(string(s), "\x00"), " ")
		switch k {
		case "feature_count":
			n, _ := strconv.Atoi(v)
			feats = int32(n)
		case "cluster_count":
			if v != "0" {
				return errors.New("sendump: clustered weights are not supported")
			}
		}
	}
	if codewords, err = readInt(); err != nil {
		return err
	}
	if senones, err = readInt(); err != nil {
		return err
	}
	if feats <= 0 || codewords <= 0 || senones <= 0 {
		return fmt.Errorf("sendump: %d features, %d codewords, %d senones", feats, codewords, senones)
	}
	// Stored per feature, per codeword, a byte per senone: -log_b(p) >> 10
	// with b = 1.0001 (pocketsphinx's SENSCR_SHIFT and default -logbase).
	w := make([]float32, int(senones)*int(feats)*int(codewords))
	row := make([]byte, senones)
	step := 1024 * math.Log(1.0001)
	for ft := range int(feats) {
		for cw := range int(codewords) {
			if _, err := io.ReadFull(r, row); err != nil {
				return fmt.Errorf("sendump: %w", err)
			}
			for s, v := range row {
				w[(s*int(feats)+ft)*int(codewords)+cw] = float32(math.Exp(-float64(v) * step))
			}
		}
	}
	for d := 0; d < len(w); d += int(codewords) {
		var sum float32
		for _, p := range w[d : d+int(codewords)] {
			sum += p
		}
		for i := range w[d : d+int(codewords)] {
			w[d+i] /= sum
		}
	}
	// Sphinx-3 binary: text header, byte-order magic, dimensions, count, data.
	var b []byte
	b = append(b, "s3\nversion 1.0\nendhdr\n"...)
	for _, v := range []uint32{0x11223344, uint32(senones), uint32(feats), uint32(codewords), uint32(len(w))} {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	for _, p := range w {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(p))
	}
	return os.WriteFile(out, b, 0o644)
}
