package agent

import (
	"slices"
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
