package pocketsphinx_test

import (
	"sync"
	"testing"

	"github.com/voxgate/voxgate/speech/transcribe"
	"github.com/voxgate/voxgate/speech/transcribe/pocketsphinx"
	"github.com/voxgate/voxgate/speech/transcribe/transcribetest"
)

// TestStreamsAtOnce opens streams of the wideband and the narrowband model
// from several goroutines at once, as a session's two sides and its
// narrowband legs do: every decoder loads.
func TestStreamsAtOnce(t *testing.T) {
	var engines []transcribe.Engine
	for _, dir := range []string{"", transcribetest.NarrowbandModel()} {
		e, err := pocketsphinx.Open(transcribe.Options{Model: dir})
		if err != nil {
			t.Fatal(err)
		}
		engines = append(engines, e)
	}
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			s, err := engines[i%2].NewStream()
			if err != nil {
				t.Error(err)
				return
			}
			_ = s.Close()
		})
	}
	wg.Wait()
}
