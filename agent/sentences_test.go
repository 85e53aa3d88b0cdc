package agent

import (
	"slices"
	"strings"
	"testing"
)

func TestSplitterEmitsSentencesAsTheyComplete(t *testing.T) {
	var s splitter
	var got [][]string
	for _, p := range []string{"Hello the", "re. How can I", " help? Dr. Smith paid 3.50 dollars", "!! Ok", "ay\nBye"} {
		got = append(got, s.add(p))
	}
	got = append(got, s.flush())
	want := [][]string{nil, {"Hello there."}, {"How can I help?"}, {"Dr. Smith paid 3.50 dollars!!"}, {"Okay"}, {"Bye"}}
	if len(got) != len(want) {
		t.Fatalf("got %q", got)
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("after piece %d: %q, want %q", i, got[i], want[i])
		}
	}
}

// FuzzSplitter cuts arbitrary streamed text: the sentences keep every
// non-space character, in order.
func FuzzSplitter(f *testing.F) {
	f.Add("Hello there. How are you?", 3)
	f.Add("Dr. Smith paid 3.50!!\nBye", 1)
	f.Fuzz(func(t *testing.T, text string, piece int) {
		piece = max(1, piece%16+1)
		var s splitter
		var got []string
		for i := 0; i < len(text); i += piece {
			got = append(got, s.add(text[i:min(i+piece, len(text))])...)
		}
		got = append(got, s.flush()...)
		strip := func(x string) string { return strings.Join(strings.Fields(x), "") }
		if strip(strings.Join(got, " ")) != strip(text) {
			t.Fatalf("%q split into %q", text, got)
		}
	})
}
