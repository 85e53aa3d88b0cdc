//go:build !cgo

package opus

import (
	"errors"
	"testing"
)

func TestUnavailable(t *testing.T) {
	if _, err := NewEncoder(EncoderConfig{}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("NewEncoder = %v, want ErrUnavailable", err)
	}
	if _, err := NewDecoder(48000); !errors.Is(err, ErrUnavailable) {
		t.Errorf("NewDecoder = %v, want ErrUnavailable", err)
	}
}
