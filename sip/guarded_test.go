package sip

import (
	"errors"
	"strings"
	"testing"

	sipmsg "github.com/emiago/sipgo/sip"
	"go.uber.org/zap"
)

// guarded gives f's result, and a panic in f (as sipgo's WaitAnswer's
// when its CANCEL's transaction ends with no response and no error yet:
// it reads the response's status) as an error instead of a crash.
func TestGuardedTurnsAPanicIntoAnError(t *testing.T) {
	var none *sipmsg.Response
	err := <-guarded(zap.NewNop(), func() error {
		if none.StatusCode != 200 { // what sipgo's inviteCancel does
			return errors.New("cancel failed")
		}
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "nil pointer") {
		t.Fatalf("a panic came back as %v, want the nil dereference as an error", err)
	}
	refused := errors.New("486 Busy Here")
	if err := <-guarded(zap.NewNop(), func() error { return refused }); err != refused {
		t.Fatalf("f's error came back as %v", err)
	}
}
