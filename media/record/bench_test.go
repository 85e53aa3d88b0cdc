package record

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/voxgate/voxgate/media"
	"github.com/voxgate/voxgate/media/mediatest"
)

// BenchmarkFrame writes 20 ms of a call, one frame from each side, to a
// recording. The file is /dev/null, so that a long run does not fill the
// disk: this measures the recorder and its write(2), not the disk.
func BenchmarkFrame(b *testing.B) {
	for _, bb := range []struct {
		name string
		opts Options
	}{
		{"dual-16k", Options{SampleRate: 16000, Channels: 2}},
		{"mixed-8k", Options{SampleRate: 8000, Channels: 1}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			f, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
			if err != nil {
				b.Fatal(err)
			}
			r, err := start(os.DevNull, f, bb.opts)
			if err != nil {
				b.Fatal(err)
			}
			n := bb.opts.SampleRate / 50
			c := media.Frame{Samples: mediatest.Tone(bb.opts.SampleRate, 440, -12, n)}
			a := media.Frame{Samples: mediatest.Tone(bb.opts.SampleRate, 1000, -12, n)}
			cw, aw := r.Writer(Customer), r.Writer(Agent)
			b.ReportAllocs()
			for b.Loop() {
				if err := cw.WriteFrame(c); err != nil {
					b.Fatal(err)
				}
				if err := aw.WriteFrame(a); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if err := r.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkExport encodes 10 s of a dual 16 kHz recording; x-realtime is
// how many times faster than the audio lasts.
func BenchmarkExport(b *testing.B) {
	src := filepath.Join(b.TempDir(), "rec.wav")
	r, err := New(src, Options{SampleRate: 16000, Channels: 2})
	if err != nil {
		b.Fatal(err)
	}
	c, a := mediatest.NewSine(16000, 440, -12), mediatest.NewSine(16000, 1000, -12)
	for range 500 {
		_ = r.Write(Customer, c.Samples(320))
		_ = r.Write(Agent, a.Samples(320))
	}
	if err := r.Close(); err != nil {
		b.Fatal(err)
	}
	for _, format := range []Format{MP3, Ogg} {
		b.Run(string(format), func(b *testing.B) {
			var out bytes.Buffer
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				out.Reset()
				if err := Export(&out, src, format); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(10*float64(b.N)/time.Since(start).Seconds(), "x-realtime")
		})
	}
}
