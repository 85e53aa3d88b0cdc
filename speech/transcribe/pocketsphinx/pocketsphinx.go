// Package pocketsphinx is the embedded offline transcription engine, over
// Debian's libpocketsphinx (the 0.8/5prealpha C API) and its en-us model.
// Importing it registers the engine "pocketsphinx".
//
// That C API has no way to share one loaded model between decoders, and a
// decoder keeps per-search state, so the engine keeps a pool of decoders
// built from one parsed configuration: a stream takes one, and gives it back
// when it closes, so a model is loaded once per concurrent stream the
// process ever had, never per stream or per utterance.
package pocketsphinx

/*
#cgo pkg-config: pocketsphinx sphinxbase
#include <stdlib.h>
#include <pocketsphinx.h>
#include <err.h>

static cmd_ln_t *vg_config(const char *hmm, const char *lm, const char *dict) {
	err_set_logfp(NULL);
	return cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", hmm, "-lm", lm, "-dict", dict, "-logfn", "/dev/null", NULL);
}

static double vg_confidence(ps_decoder_t *ps) {
	return logmath_exp(ps_get_logmath(ps), ps_get_prob(ps));
}
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"unsafe"

	"github.com/voxgate/voxgate/speech/transcribe"
)

// DefaultModel is where Debian's pocketsphinx-en-us installs the model.
const DefaultModel = "/usr/share/pocketsphinx/model/en-us"

// maxIdle caps the decoders kept for reuse (each holds ≈100 MB).
const maxIdle = 8

func init() { transcribe.Register("pocketsphinx", Open) }

// initMu serializes ps_init, which writes the model's feat.params into the
// configuration it is given: two decoders of one engine must not load at
// once. (A sweep of two calls once got "the model did not load" without it;
// not reproduced since, so this is the likely cause, not a proven one.)
var initMu sync.Mutex

// Engine is a pocketsphinx model and its pool of decoders.
type Engine struct {
	config *C.cmd_ln_t
	mu     sync.Mutex
	idle   []*C.ps_decoder_t
}

// Open parses the model directory (holding en-us/, en-us.lm.bin and
// cmudict-en-us.dict, as pocketsphinx-en-us ships it) and loads one decoder
// to check it.
func Open(o transcribe.Options) (transcribe.Engine, error) {
	dir := o.Model
	if dir == "" {
		dir = DefaultModel
	}
	hmm, lm, dict := filepath.Join(dir, "en-us"), filepath.Join(dir, "en-us.lm.bin"), filepath.Join(dir, "cmudict-en-us.dict")
	for _, p := range []string{hmm, lm, dict} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("pocketsphinx model: %w (install pocketsphinx-en-us)", err)
		}
	}
	ch, cl, cd := C.CString(hmm), C.CString(lm), C.CString(dict)
	defer C.free(unsafe.Pointer(ch))
	defer C.free(unsafe.Pointer(cl))
	defer C.free(unsafe.Pointer(cd))
	cfg := C.vg_config(ch, cl, cd)
	if cfg == nil {
		return nil, errors.New("pocketsphinx: bad configuration")
	}
	e := &Engine{config: cfg}
	d, err := e.decoder()
	if err != nil {
		C.cmd_ln_free_r(cfg)
		return nil, err
	}
	e.idle = append(e.idle, d)
	return e, nil
}

// decoder takes an idle decoder or loads a new one.
func (e *Engine) decoder() (*C.ps_decoder_t, error) {
	e.mu.Lock()
	if n := len(e.idle); n > 0 {
		d := e.idle[n-1]
		e.idle = e.idle[:n-1]
		e.mu.Unlock()
		return d, nil
	}
	e.mu.Unlock()
	initMu.Lock() // ps_init writes into the shared configuration (feat.params)
	d := C.ps_init(e.config)
	initMu.Unlock()
	if d == nil {
		return nil, errors.New("pocketsphinx: the model did not load")
	}
	return d, nil
}

func (e *Engine) release(d *C.ps_decoder_t) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.idle) < maxIdle {
		e.idle = append(e.idle, d)
		return
	}
	C.ps_free(d)
}

// NewStream takes a decoder from the pool.
func (e *Engine) NewStream() (transcribe.Stream, error) {
	d, err := e.decoder()
	if err != nil {
		return nil, err
	}
	return &stream{e: e, d: d}, nil
}

type stream struct {
	e      *Engine
	d      *C.ps_decoder_t
	inUtt  bool
	closed bool
}

func (s *stream) Write(pcm []int16) error {
	if s.closed {
		return errors.New("pocketsphinx: stream closed")
	}
	if len(pcm) == 0 {
		return nil
	}
	if !s.inUtt {
		if C.ps_start_utt(s.d) < 0 {
			return errors.New("pocketsphinx: utterance not started")
		}
		s.inUtt = true
	}
	if C.ps_process_raw(s.d, (*C.int16)(unsafe.Pointer(&pcm[0])), C.size_t(len(pcm)), 0, 0) < 0 {
		return errors.New("pocketsphinx: decoding failed")
	}
	return nil
}

func (s *stream) Partial() (string, error) {
	if !s.inUtt {
		return "", nil
	}
	return hyp(s.d), nil
}

func (s *stream) End() (string, float64, error) {
	if !s.inUtt {
		return "", 0, nil
	}
	s.inUtt = false
	if C.ps_end_utt(s.d) < 0 {
		return "", 0, errors.New("pocketsphinx: utterance not ended")
	}
	text := hyp(s.d)
	if text == "" {
		return "", 0, nil
	}
	return text, float64(C.vg_confidence(s.d)), nil
}

func (s *stream) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	if s.inUtt {
		C.ps_end_utt(s.d)
	}
	s.e.release(s.d)
	return nil
}

func hyp(d *C.ps_decoder_t) string {
	var score C.int32
	h := C.ps_get_hyp(d, &score)
	if h == nil {
		return ""
	}
	return C.GoString(h)
}
