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

// mixw reads a semi-continuous or PTM model's sendump and writes the
// equivalent Sphinx-3 mixture_weights file.
func mixw(in, out string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	w, dims, err := readSendump(bufio.NewReader(f))
	if err != nil {
		return err
	}
	// Sphinx-3 binary: text header, byte-order magic, dimensions, count, data.
	var b []byte
	b = append(b, "s3\nversion 1.0\nendhdr\n"...)
	for _, v := range []uint32{0x11223344, uint32(dims[0]), uint32(dims[1]), uint32(dims[2]), uint32(len(w))} {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	for _, p := range w {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(p))
	}
	return os.WriteFile(out, b, 0o644)
}

// readSendump reads 8-bit quantized -log mixture weights as pocketsphinx
// loads them and returns the weights, senone × feature × codeword, each
// distribution normalized, with those three dimensions.
func readSendump(r io.Reader) ([]float32, [3]int, error) {
	var dims [3]int
	readInt := func() (int32, error) {
		var v int32
		err := binary.Read(r, binary.LittleEndian, &v)
		return v, err
	}
	feats := 0
	for { // header strings, up to a zero length
		n, err := readInt()
		if err != nil {
			return nil, dims, err
		}
		if n == 0 {
			break
		}
		if n < 0 || n > 4096 {
			return nil, dims, fmt.Errorf("sendump: header string of %d bytes", n)
		}
		s := make([]byte, n)
		if _, err := io.ReadFull(r, s); err != nil {
			return nil, dims, err
		}
		k, v, _ := strings.Cut(strings.TrimRight(string(s), "\x00"), " ")
		switch k {
		case "feature_count":
			feats, _ = strconv.Atoi(v)
		case "cluster_count":
			if v != "0" {
				return nil, dims, errors.New("sendump: clustered weights are not supported")
			}
		}
	}
	codewords, err := readInt()
	if err != nil {
		return nil, dims, err
	}
	senones, err := readInt()
	if err != nil {
		return nil, dims, err
	}
	const most = 1 << 24
	if feats <= 0 || codewords <= 0 || senones <= 0 || feats > most || codewords > most || senones > most ||
		int64(feats)*int64(codewords)*int64(senones) > most { // each bounded first: the product cannot overflow
		return nil, dims, fmt.Errorf("sendump: %d features, %d codewords, %d senones", feats, codewords, senones)
	}
	n := int64(feats) * int64(codewords) * int64(senones)
	dims = [3]int{int(senones), feats, int(codewords)}
	data, err := io.ReadAll(io.LimitReader(r, n)) // grows with what is there
	if err != nil {
		return nil, dims, err
	}
	if int64(len(data)) < n {
		return nil, dims, fmt.Errorf("sendump: %d bytes of weights, want %d", len(data), n)
	}
	// Stored per feature, per codeword, a byte per senone: -log_b(p) >> 10
	// with b = 1.0001 (pocketsphinx's SENSCR_SHIFT and default -logbase).
	all := make([]float32, n)
	step := 1024 * math.Log(1.0001)
	for i, v := range data {
		ft, cw, s := i/int(senones)/int(codewords), i/int(senones)%int(codewords), i%int(senones)
		all[(s*feats+ft)*int(codewords)+cw] = float32(math.Exp(-float64(v) * step))
	}
	for d := 0; d < len(all); d += int(codewords) {
		var sum float32
		for _, p := range all[d : d+int(codewords)] {
			sum += p
		}
		for i := range all[d : d+int(codewords)] {
			all[d+i] /= sum
		}
	}
	return all, dims, nil
}
