package sip

import (
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// awaitAck: an ACK and a BYE that both come while the wait is blocked
// leave it the dialog's end and its states ready at once; whichever it
// takes first, the call was answered (the wait used to take the end for a
// cancel about half the time: the call was recorded canceled and its
// session never ended). A dialog that ends without an ACK was not, as far
// as the wait can tell (run asks whether the caller's BYE ended it:
// TestByeBeforeAck); no ACK in time is a timeout.
func TestAwaitAck(t *testing.T) {
	ended := make(chan struct{})
	close(ended)
	states := func(ss ...sipmsg.DialogState) <-chan sipmsg.DialogState {
		ch := make(chan sipmsg.DialogState, 5)
		for _, s := range ss {
			ch <- s
		}
		return ch
	}
	for range 200 {
		got := awaitAck(states(sipmsg.DialogStateEstablished, sipmsg.DialogStateConfirmed, sipmsg.DialogStateEnded), ended, nil)
		if got != ackCame {
			t.Fatalf("ACK then BYE: %d, want ackCame", got)
		}
		if got := awaitAck(states(sipmsg.DialogStateEstablished, sipmsg.DialogStateEnded), ended, nil); got != ackNever {
			t.Fatalf("ended unconfirmed: %d, want ackNever", got)
		}
	}
	timeout := make(chan time.Time, 1)
	timeout <- time.Now()
	if got := awaitAck(states(sipmsg.DialogStateEstablished), nil, timeout); got != ackTimedOut {
		t.Fatalf("no ACK: %d, want ackTimedOut", got)
	}
}
