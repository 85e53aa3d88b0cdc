//go:build !cgo

package opus

// Encoder is unavailable without cgo.
type Encoder struct{}

// NewEncoder returns ErrUnavailable: libopus needs cgo.
func NewEncoder(EncoderConfig) (*Encoder, error) { return nil, ErrUnavailable }

// SampleRate returns 0.
func (e *Encoder) SampleRate() int { return 0 }

// Encode returns ErrUnavailable.
func (e *Encoder) Encode([]int16, []byte) (int, error) { return 0, ErrUnavailable }

// LimitBand returns ErrUnavailable.
func (e *Encoder) LimitBand(int) error { return ErrUnavailable }

// String names the stub.
func (e *Encoder) String() string { return "Opus(unavailable)" }

// Decoder is unavailable without cgo.
type Decoder struct{}

// NewDecoder returns ErrUnavailable: libopus needs cgo.
func NewDecoder(int) (*Decoder, error) { return nil, ErrUnavailable }

// SampleRate returns 0.
func (d *Decoder) SampleRate() int { return 0 }

// Decode returns ErrUnavailable.
func (d *Decoder) Decode([]byte, []int16) (int, error) { return 0, ErrUnavailable }

// Conceal returns ErrUnavailable.
func (d *Decoder) Conceal([]int16) (int, error) { return 0, ErrUnavailable }

// String names the stub.
func (d *Decoder) String() string { return "Opus(unavailable)" }
