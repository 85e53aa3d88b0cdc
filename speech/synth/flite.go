package synth

/*
#cgo CFLAGS: -I/usr/include/flite
#cgo LDFLAGS: -lflite_cmu_us_slt -lflite_usenglish -lflite_cmulex -lflite -lm
#include <stdlib.h>
#include <flite.h>
cst_voice *register_cmu_us_slt(const char *voxdir);
static cst_voice *slt_voice(void) {
	flite_init();
	return register_cmu_us_slt(NULL);
}
*/
import "C"

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"unsafe"
)

// Flite speaks English with libflite's cmu_us_slt voice, which is 16 kHz
// natively, in process: no worker, no process per sentence. libflite is not
// reentrant, so one sentence is synthesized at a time.
type Flite struct {
	voice *C.cst_voice
}

var (
	fliteOnce  sync.Once
	fliteVoice *C.cst_voice
)

// NewFlite loads the slt voice (once per process).
func NewFlite() *Flite {
	fliteOnce.Do(func() { fliteVoice = C.slt_voice() })
	return &Flite{voice: fliteVoice}
}

// Synthesize speaks English text; voice must be "" or "slt".
func (f *Flite) Synthesize(ctx context.Context, text, language, voice string) ([]int16, error) {
	if primary(language) != "en" || (voice != "" && voice != "slt") {
		return nil, fmt.Errorf("flite %s/%s: %w", language, voice, ErrUnsupported)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	text = strings.ReplaceAll(text, "\x00", "")
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	ctext := C.CString(text)
	defer C.free(unsafe.Pointer(ctext))
	fliteMu.Lock()
	defer fliteMu.Unlock()
	w := C.flite_text_to_wave(ctext, f.voice)
	if w == nil {
		return nil, fmt.Errorf("flite: synthesis failed")
	}
	defer C.delete_wave(w)
	if int(w.sample_rate) != Rate || w.num_channels != 1 {
		return nil, fmt.Errorf("flite: %d Hz × %d channels, want %d mono", w.sample_rate, w.num_channels, Rate)
	}
	samples := unsafe.Slice((*int16)(unsafe.Pointer(w.samples)), int(w.num_samples))
	return append([]int16(nil), samples...), nil
}

// fliteMu serializes libflite, which keeps global state.
var fliteMu sync.Mutex

func primary(lang string) string {
	p, _, _ := strings.Cut(lang, "-")
	return strings.ToLower(p)
}

var _ Synthesizer = (*Flite)(nil)
