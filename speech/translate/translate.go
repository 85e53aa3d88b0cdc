// Package translate turns text from one language into another: Apertium
// (Debian packages, offline, the default) and LibreTranslate over HTTP.
package translate

import (
	"context"
	"errors"
	"slices"
	"strings"
)

// ErrUnsupported reports a language pair no installed engine translates.
var ErrUnsupported = errors.New("translate: unsupported language pair")

// Pair is one translation direction, as BCP-47 primary subtags ("en", "es").
type Pair struct{ From, To string }

// String is "en-es".
func (p Pair) String() string { return p.From + "-" + p.To }

// Translator translates text. Implementations are safe for concurrent use.
type Translator interface {
	// Translate returns text in language to; from and to are BCP-47 tags
	// ("en", "es", "pt-BR"), matched on their primary subtag.
	Translate(ctx context.Context, text, from, to string) (string, error)
	// Pairs lists the directions this engine translates.
	Pairs() []Pair
	// Close releases the engine's processes and connections.
	Close() error
}

// Supports says whether pairs hold the direction from → to.
func Supports(pairs []Pair, from, to string) bool {
	return slices.Contains(pairs, Pair{primary(from), primary(to)})
}

// primary returns the lowercase primary subtag: "pt-BR" → "pt".
func primary(lang string) string {
	p, _, _ := strings.Cut(lang, "-")
	return strings.ToLower(p)
}
