package translate

import (
	"context"
	"testing"
)

const benchSentence = "Good morning, I need help with my account please."

// BenchmarkApertiumWarm is one sentence through a running pipeline.
func BenchmarkApertiumWarm(b *testing.B) {
	a := apertium(b)
	ctx := context.Background()
	if _, err := a.Translate(ctx, benchSentence, "en", "es"); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := a.Translate(ctx, benchSentence, "en", "es"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApertiumCold starts the pipeline for each sentence, as a process
// per sentence would.
func BenchmarkApertiumCold(b *testing.B) {
	a := apertium(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := a.Translate(ctx, benchSentence, "en", "es"); err != nil {
			b.Fatal(err)
		}
		a.Close()
	}
}
