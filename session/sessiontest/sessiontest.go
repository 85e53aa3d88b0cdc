// Package sessiontest helps tests listen to a session: it collects the
// audio a subscription receives from one side.
package sessiontest

import (
	"testing"
	"time"

	"github.com/voxgate/voxgate/session"
)

// Hear collects at least n samples (at session.Rate) that sub receives from
// speaker ("" for any side), failing t after 10 s without them.
func Hear(t testing.TB, sub *session.Subscription, speaker session.Speaker, n int) []int16 {
	t.Helper()
	var (
		heard []int16
		fr    session.AudioFrame
	)
	deadline := time.After(10 * time.Second)
	for {
		for sub.NextAudio(&fr) {
			if speaker == "" || fr.Speaker == speaker {
				heard = append(heard, fr.Samples...)
			}
		}
		if len(heard) >= n {
			return heard
		}
		select {
		case <-sub.AudioReady():
		case <-deadline:
			t.Fatalf("heard %d of %d samples from %q", len(heard), n, speaker)
		}
	}
}
