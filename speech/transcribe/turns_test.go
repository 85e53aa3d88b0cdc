package transcribe_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/voxgate/voxgate/speech/transcribe"
	_ "github.com/voxgate/voxgate/speech/transcribe/pocketsphinx"
	"github.com/voxgate/voxgate/speech/transcribe/transcribetest"
)

// testSentences are the committed sentences the tests speak (short ones).
var testSentences = []int{0, 1, 2, 4}

func engine(t testing.TB) transcribe.Engine {
	t.Helper()
	e, err := transcribe.Open("pocketsphinx", transcribe.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestTurns speaks sentences with pauses between them through a Turns: each
// becomes one turn, partials come before its final, and the finals are as
// good as pocketsphinx_continuous on the same files.
func TestTurns(t *testing.T) {
	all := transcribetest.Sentences(t)
	e := engine(t)
	var mu sync.Mutex
	var got []transcribe.Result
	tr := transcribe.NewTurns(e.NewStream, func(r transcribe.Result) {
		mu.Lock()
		got = append(got, r)
		mu.Unlock()
	}, func(err error) { t.Error(err) })
	var audio []int16
	silence := make([]int16, transcribe.Rate) // 1 s
	var refs, offline []string
	for _, i := range testSentences {
		audio = append(append(audio, silence...), all[i].PCM...)
		refs = append(refs, all[i].Text)
		text, ok := transcribetest.Continuous(t, all[i].File)
		if !ok {
			text = decode(t, e, all[i].PCM)
		}
		offline = append(offline, text)
	}
	audio = append(audio, silence...)
	for n := 0; n+transcribe.FrameSamples <= len(audio); n += transcribe.FrameSamples {
		for !tr.Push(audio[n:n+transcribe.FrameSamples], int64(n/16)) {
			time.Sleep(20 * time.Millisecond) // the recognizer is behind: offer the frame again
		}
	}
	tr.Close()

	var finals []string
	partials := 0
	var lastEnd int64
	for _, r := range got {
		if !r.Final {
			partials++
			continue
		}
		if partials == 0 {
			t.Errorf("final %q came without a partial before it", r.Text)
		}
		if r.StartMS < lastEnd || r.EndMS <= r.StartMS || r.Confidence < 0 || r.Confidence > 1 {
			t.Errorf("final %+v: bad times or confidence (previous end %d)", r, lastEnd)
		}
		lastEnd, partials = r.EndMS, 0
		finals = append(finals, r.Text)
	}
	if len(finals) != len(refs) {
		t.Fatalf("%d finals %q for %d sentences", len(finals), finals, len(refs))
	}
	live, off := transcribetest.WER(refs, finals), transcribetest.WER(refs, offline)
	t.Logf("WER live %.3f, offline %.3f; finals %q", live, off, finals)
	if live > 0.20 || live > 1.2*off+1e-9 {
		t.Errorf("WER live %.3f, offline %.3f: want ≤ 0.20 and ≤ 1.2× offline", live, off)
	}
}

// decode recognizes a whole recording as one utterance.
func decode(t testing.TB, e transcribe.Engine, pcm []int16) string {
	t.Helper()
	s, err := e.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Write(pcm); err != nil {
		t.Fatal(err)
	}
	text, _, err := s.End()
	if err != nil {
		t.Fatal(err)
	}
	return text
}

func TestOpenUnknown(t *testing.T) {
	if _, err := transcribe.Open("nosuch", transcribe.Options{}); !errors.Is(err, transcribe.ErrUnknownEngine) {
		t.Fatalf("err %v, want ErrUnknownEngine", err)
	}
	if _, err := transcribe.Open("pocketsphinx", transcribe.Options{Model: t.TempDir()}); err == nil {
		t.Fatal("a missing model opened")
	}
}

// TestPushAllocatesNothing: handing a frame to a Turns, on the session's
// clock, allocates nothing.
func TestPushAllocatesNothing(t *testing.T) {
	tr := transcribe.NewTurns(func() (transcribe.Stream, error) {
		return nil, errors.New("no engine here")
	}, func(transcribe.Result) {}, func(error) {})
	defer tr.Close()
	frame := make([]int16, transcribe.FrameSamples)
	if n := testing.AllocsPerRun(1000, func() { tr.Push(frame, 0) }); n != 0 {
		t.Fatalf("%v allocations per Push", n)
	}
}

// TestPushNeverBlocks: while the recognizer is stuck (here its results'
// receiver), Push drops frames instead of blocking the session's clock,
// even when a turn had started with a full pre-roll.
func TestPushNeverBlocks(t *testing.T) {
	release := make(chan struct{})
	tr := transcribe.NewTurns(func() (transcribe.Stream, error) { return &named{name: "stuck"}, nil },
		func(transcribe.Result) { <-release }, func(error) {})
	quiet, loud := make([]int16, transcribe.FrameSamples), make([]int16, transcribe.FrameSamples)
	for i := range loud {
		loud[i] = int16(8000 * (i%2*2 - 1))
	}
	pushed := make(chan struct{})
	go func() {
		defer close(pushed)
		for i := range 20 { // a full pre-roll of silence
			tr.Push(quiet, int64(20*i))
		}
		for i := range 1000 {
			tr.Push(loud, int64(400+20*i))
		}
	}()
	select {
	case <-pushed:
	case <-time.After(10 * time.Second):
		t.Fatal("Push blocked while the recognizer was stuck")
	}
	if tr.Dropped() == 0 {
		t.Error("no frame counted dropped")
	}
	close(release)
	tr.Close()
}
