// Package synth turns text into speech: offline, flite (English, through
// libflite) and espeak-ng (many languages, through libespeak-ng); and an
// OpenAI-compatible /v1/audio/speech adapter.
package synth

import (
	"context"
	"errors"
)

// Rate is the sample rate of every engine's output, the session's rate.
const Rate = 16000

// ErrUnsupported reports a language or voice the engine does not speak.
var ErrUnsupported = errors.New("synth: unsupported language")

// Synthesizer speaks text. Implementations are safe for concurrent use.
type Synthesizer interface {
	// Synthesize returns mono PCM16 at Rate for text in language (a BCP-47
	// tag) with voice (engine-specific; empty for the default).
	Synthesize(ctx context.Context, text, language, voice string) ([]int16, error)
}
