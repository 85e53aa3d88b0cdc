package transcribe_test

import (
	"errors"
	"testing"

	"github.com/voxgate/voxgate/speech/transcribe"
)

// named is a Stream that answers each utterance with its name.
type named struct {
	name   string
	wrote  bool
	closed bool
}

func (n *named) Write([]int16) error { n.wrote = true; return nil }
func (n *named) Partial() (string, error) {
	return n.name, nil
}
func (n *named) End() (string, float64, error) { n.wrote = false; return n.name, 1, nil }
func (n *named) Close() error                  { n.closed = true; return nil }

// TestByBand switches between the wideband and narrowband streams at
// utterance boundaries only, opens the narrowband one once, and falls back
// to wideband (reporting the error once) when it cannot be opened.
func TestByBand(t *testing.T) {
	wide, nb := &named{name: "wide"}, &named{name: "narrow"}
	narrow, opened := false, 0
	s := transcribe.ByBand(wide, func() (transcribe.Stream, error) { opened++; return nb, nil }, func() bool { return narrow })
	pcm := make([]int16, 320)
	utter := func(switchMid bool) string {
		t.Helper()
		if err := s.Write(pcm); err != nil {
			t.Fatal(err)
		}
		if switchMid {
			narrow = !narrow
		}
		if err := s.Write(pcm); err != nil {
			t.Fatal(err)
		}
		text, _, err := s.End()
		if err != nil {
			t.Fatal(err)
		}
		return text
	}
	for i, want := range []struct {
		narrow, flip bool
		text         string
	}{{false, true, "wide"}, {true, false, "narrow"}, {true, true, "narrow"}, {false, false, "wide"}, {true, false, "narrow"}} {
		narrow = want.narrow
		if got := utter(want.flip); got != want.text {
			t.Errorf("utterance %d: %q, want %q", i, got, want.text)
		}
	}
	if opened != 1 {
		t.Errorf("narrowband stream opened %d times", opened)
	}
	if err := s.Close(); err != nil || !wide.closed || !nb.closed {
		t.Errorf("close: %v, wide %v, narrow %v", err, wide.closed, nb.closed)
	}

	wide = &named{name: "wide"}
	s = transcribe.ByBand(wide, func() (transcribe.Stream, error) { return nil, errors.New("no model") }, func() bool { return true })
	if err := s.Write(pcm); err == nil || !wide.wrote {
		t.Fatalf("first write: %v, wideband wrote %v", err, wide.wrote)
	}
	if err := s.Write(pcm); err != nil {
		t.Fatal(err)
	}
	if text, _, err := s.End(); err != nil || text != "wide" {
		t.Fatalf("end: %q %v", text, err)
	}
	if err := s.Write(pcm); err != nil {
		t.Fatalf("next utterance: %v", err)
	}
	_ = s.Close()
}
