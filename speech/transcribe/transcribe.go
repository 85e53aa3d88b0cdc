// Package transcribe turns speech into text as it is spoken: engines
// recognize utterances of 16 kHz mono PCM, and a Turns splits one speaker's
// audio into turns by voice activity, reporting partial results while the
// speaker talks and a final one at the end of each turn.
package transcribe

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Rate is the sample rate engines recognize.
const Rate = 16000

// Result is what was recognized of one turn: a partial hypothesis while the
// speaker talks, then the final text. Times are milliseconds of the caller's
// media clock.
type Result struct {
	Text       string
	StartMS    int64
	EndMS      int64
	Confidence float64 // 0..1
	Final      bool
}

// Engine recognizes speech. One Engine is shared by every stream of a
// process; it must be safe for concurrent use.
type Engine interface {
	// NewStream opens a recognizer for one speaker's audio.
	NewStream() (Stream, error)
}

// Stream recognizes one utterance at a time. It is used by one goroutine.
type Stream interface {
	// Write feeds the current utterance more 16 kHz samples; the first
	// Write after End starts a new utterance.
	Write(pcm []int16) error
	// Partial is the best hypothesis of the utterance so far.
	Partial() (string, error)
	// End finishes the utterance and returns its text and confidence.
	End() (text string, confidence float64, err error)
	// Close releases the stream.
	Close() error
}

// Options configure an engine. Zero values take the engine's defaults.
type Options struct {
	// Model is the engine's model: a directory for pocketsphinx, a model
	// name for whisper.
	Model string
	// URL is where a remote engine listens (whisper: the server's base URL).
	URL string
	// Timeout bounds one request to a remote engine (default 30 s).
	Timeout time.Duration
	// APIKey authenticates to a remote engine (stream: the Authorization
	// header, "Bearer KEY", or the key as given when it names its scheme,
	// like Deepgram's "Token KEY").
	APIKey string
}

// Opener creates an engine.
type Opener func(Options) (Engine, error)

var (
	mu      sync.Mutex
	openers = map[string]Opener{}
	engines = map[string]Engine{}
)

// ErrUnknownEngine means no engine of that name is registered.
var ErrUnknownEngine = errors.New("transcribe: unknown engine")

// Register makes an engine available by name (from an engine package's init).
func Register(name string, open Opener) {
	mu.Lock()
	defer mu.Unlock()
	openers[name] = open
}

// Names lists the registered engines.
func Names() []string {
	mu.Lock()
	defer mu.Unlock()
	names := make([]string, 0, len(openers))
	for n := range openers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Open returns the process's engine of that name, opening it on first use:
// a model is loaded once and shared. A failed open is retried next time.
func Open(name string, o Options) (Engine, error) {
	mu.Lock()
	defer mu.Unlock()
	key := name + "\x00" + o.Model + "\x00" + o.URL + "\x00" + o.APIKey
	if e, ok := engines[key]; ok {
		return e, nil
	}
	open, ok := openers[name]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownEngine, name)
	}
	e, err := open(o)
	if err != nil {
		return nil, fmt.Errorf("transcribe: engine %s: %w", name, err)
	}
	engines[key] = e
	return e, nil
}
