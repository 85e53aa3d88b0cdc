package record

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that every Recorder's goroutine ends with Close.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
