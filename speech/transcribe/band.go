package transcribe

// ByBand is a Stream that recognizes each utterance with a wideband or a
// narrowband stream, chosen as the utterance starts: narrowband while
// narrow reports that the speaker's audio comes from an 8 kHz leg (a G.711
// call, whose missing upper band a model adapted to telephone speech hears
// better). The narrowband stream is opened on first use; when that fails,
// speech is recognized wideband and the Write that tried returns the error
// (after writing its samples).
func ByBand(wide Stream, openNarrow func() (Stream, error), narrow func() bool) Stream {
	return &banded{wide: wide, openNarrow: openNarrow, isNarrow: narrow}
}

type banded struct {
	wide, narrow Stream
	openNarrow   func() (Stream, error) // nil once tried and failed
	isNarrow     func() bool
	cur          Stream // the utterance's stream; nil between utterances
}

func (b *banded) Write(pcm []int16) error {
	var openErr error
	if b.cur == nil {
		b.cur = b.wide
		if b.isNarrow() {
			if b.narrow == nil && b.openNarrow != nil {
				b.narrow, openErr = b.openNarrow()
				b.openNarrow = nil
			}
			if b.narrow != nil {
				b.cur = b.narrow
			}
		}
	}
	if err := b.cur.Write(pcm); err != nil {
		return err
	}
	return openErr
}

func (b *banded) Partial() (string, error) {
	if b.cur == nil {
		return "", nil
	}
	return b.cur.Partial()
}

func (b *banded) End() (string, float64, error) {
	if b.cur == nil {
		return "", 0, nil
	}
	s := b.cur
	b.cur = nil
	return s.End()
}

func (b *banded) Close() error {
	err := b.wide.Close()
	if b.narrow != nil {
		if e := b.narrow.Close(); err == nil {
			err = e
		}
	}
	return err
}
