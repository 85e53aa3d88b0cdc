package synth

/*
#cgo LDFLAGS: -lespeak-ng
#include <stdlib.h>
#include <string.h>
#include <espeak-ng/speak_lib.h>

// The synthesis callback appends to one buffer: espeak-ng runs
// synchronously on the calling thread, one sentence at a time (espeakMu).
static short *es_buf;
static int es_len, es_cap;

static int es_collect(short *wav, int n, espeak_EVENT *ev) {
	if (wav == NULL || n <= 0) return 0;
	if (es_len + n > es_cap) {
		int cap = (es_len + n) * 2;
		short *grown = realloc(es_buf, cap * sizeof(short));
		if (grown == NULL) return 1; // abort synthesis
		es_buf = grown;
		es_cap = cap;
	}
	memcpy(es_buf + es_len, wav, n * sizeof(short));
	es_len += n;
	return 0;
}

static int es_init(void) {
	int rate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, NULL, 0);
	if (rate > 0) espeak_SetSynthCallback(es_collect);
	return rate;
}

static int es_say(const char *voice, const char *text) {
	es_len = 0;
	if (espeak_SetVoiceByName(voice) != EE_OK) return -1;
	if (espeak_Synth(text, strlen(text) + 1, 0, POS_CHARACTER, 0, espeakCHARS_UTF8, NULL, NULL) != EE_OK) return -2;
	return es_len;
}

static short *es_samples(void) { return es_buf; }
*/
import "C"

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"unsafe"

	"github.com/voxgate/voxgate/transcode"
)

// ESpeak speaks many languages with libespeak-ng, in process. Its voices are
// named by language ("es", "fr", "pt-br"); the voice argument, when set,
// names one instead. espeak-ng speaks at 22050 Hz: the output is resampled
// to Rate. The library keeps global state, so one sentence is synthesized
// at a time.
type ESpeak struct{}

var (
	espeakOnce sync.Once
	espeakRate int
	espeakMu   sync.Mutex
)

// NewESpeak initializes libespeak-ng (once per process).
func NewESpeak() (*ESpeak, error) {
	espeakOnce.Do(func() { espeakRate = int(C.es_init()) })
	if espeakRate != transcode.SpeechRate {
		return nil, fmt.Errorf("espeak-ng: initialized at %d Hz, want %d (is espeak-ng-data installed?)", espeakRate, transcode.SpeechRate)
	}
	return &ESpeak{}, nil
}

// Synthesize speaks text in language (or in voice, when set).
func (*ESpeak) Synthesize(ctx context.Context, text, language, voice string) ([]int16, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if voice == "" {
		voice = strings.ToLower(language)
	}
	text = strings.ReplaceAll(text, "\x00", "")
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	ctext, cvoice := C.CString(text), C.CString(voice)
	defer C.free(unsafe.Pointer(ctext))
	defer C.free(unsafe.Pointer(cvoice))
	espeakMu.Lock()
	n := int(C.es_say(cvoice, ctext))
	var raw []int16
	if n > 0 {
		raw = append(raw, unsafe.Slice((*int16)(unsafe.Pointer(C.es_samples())), n)...)
	}
	espeakMu.Unlock()
	switch {
	case n == -1:
		return nil, fmt.Errorf("espeak-ng voice %q: %w", voice, ErrUnsupported)
	case n < 0:
		return nil, fmt.Errorf("espeak-ng: synthesis failed")
	}
	r, err := transcode.NewResampler(transcode.SpeechRate, Rate)
	if err != nil {
		return nil, err
	}
	return r.Resample(make([]int16, 0, r.OutLen(len(raw))), raw), nil
}

// Offline speaks with the embedded engines: flite for English, espeak-ng
// for every other language.
type Offline struct {
	flite  *Flite
	espeak *ESpeak
}

// NewOffline loads both engines.
func NewOffline() (*Offline, error) {
	e, err := NewESpeak()
	if err != nil {
		return nil, err
	}
	return &Offline{flite: NewFlite(), espeak: e}, nil
}

// Synthesize speaks English with flite and the rest with espeak-ng.
func (o *Offline) Synthesize(ctx context.Context, text, language, voice string) ([]int16, error) {
	if primary(language) == "en" && (voice == "" || voice == "slt") {
		return o.flite.Synthesize(ctx, text, language, voice)
	}
	return o.espeak.Synthesize(ctx, text, language, voice)
}

var (
	_ Synthesizer = (*ESpeak)(nil)
	_ Synthesizer = (*Offline)(nil)
)
