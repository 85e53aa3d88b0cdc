package record

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/voxgate/voxgate/media"
	"github.com/voxgate/voxgate/media/mediatest"
)

// readPCM returns a WAV file's header and its samples, one slice per channel.
func readPCM(t *testing.T, path string) (Info, [][]int16) {
	t.Helper()
	info, err := Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b = b[info.dataOffset:][:info.Frames*info.blockAlign()]
	chans := make([][]int16, info.Channels)
	for i := 0; i < len(b); i += 2 {
		c := i / 2 % info.Channels
		chans[c] = append(chans[c], int16(binary.LittleEndian.Uint16(b[i:])))
	}
	return info, chans
}

// seconds returns the samples of x between from and to seconds.
func seconds(x []int16, rate int, from, to float64) []int16 {
	lo, hi := min(len(x), int(from*float64(rate))), min(len(x), int(to*float64(rate)))
	return x[lo:hi]
}

func newRecorder(t *testing.T, rate, channels int) (*Recorder, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rec.wav")
	r, err := New(path, Options{SampleRate: rate, Channels: channels})
	if err != nil {
		t.Fatal(err)
	}
	return r, path
}

func TestOptionsValidate(t *testing.T) {
	for _, tt := range []struct {
		opts Options
		ok   bool
	}{
		{Options{8000, 1}, true},
		{Options{16000, 2}, true},
		{Options{48000, 1}, false},
		{Options{0, 1}, false},
		{Options{8000, 0}, false},
		{Options{8000, 3}, false},
	} {
		if err := tt.opts.Validate(); (err == nil) != tt.ok {
			t.Errorf("%+v: Validate() = %v", tt.opts, err)
		}
	}
	if _, err := New(filepath.Join(t.TempDir(), "x.wav"), Options{SampleRate: 44100, Channels: 1}); err == nil {
		t.Error("New accepted 44100 Hz")
	}
}

// TestSidesReachTheirChannels records a tone on one side, the other, or
// both at once, at both rates, into a mixed and a dual file, and finds each
// tone where it belongs at the level it was sent.
func TestSidesReachTheirChannels(t *testing.T) {
	const level = -12
	tests := []struct {
		name              string
		rate              int
		customer, agent   float64 // tone frequency in Hz, or 0 for no audio
		agentSendsSilence bool
	}{
		{"customer only 8k", 8000, 440, 0, false},
		{"agent only 16k", 16000, 0, 1000, false},
		{"customer talks, agent sends silence", 16000, 700, 0, true},
		{"both 8k", 8000, 440, 1000, false},
		{"both 16k", 16000, 1500, 440, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				mixed, mixedPath := newRecorder(t, tt.rate, 1)
				dual, dualPath := newRecorder(t, tt.rate, 2)
				sources := map[Side]float64{Customer: tt.customer, Agent: tt.agent}
				writers := map[Side]media.Writer{}
				sines := map[Side]*mediatest.Sine{}
				for s, freq := range sources {
					writers[s] = media.Tee(mixed.Writer(s), dual.Writer(s))
					sines[s] = mediatest.NewSine(tt.rate, freq, level)
				}
				var f media.Frame
				for range 50 {
					for _, s := range []Side{Customer, Agent} {
						switch {
						case sources[s] != 0:
							_ = sines[s].ReadFrame(&f)
						case s == Agent && tt.agentSendsSilence:
							f.Samples = make([]int16, tt.rate/50)
						default:
							continue
						}
						if err := writers[s].WriteFrame(f); err != nil {
							t.Fatal(err)
						}
					}
					time.Sleep(media.FrameDuration)
				}
				for _, r := range []*Recorder{mixed, dual} {
					if err := r.Close(); err != nil {
						t.Fatal(err)
					}
				}

				info, m := readPCM(t, mixedPath)
				if info.Duration() != time.Second || info.Channels != 1 || info.SampleRate != tt.rate {
					t.Errorf("mixed file: %+v, %v", info, info.Duration())
				}
				info, d := readPCM(t, dualPath)
				if info.Duration() != time.Second || info.Channels != 2 {
					t.Errorf("dual file: %+v, %v", info, info.Duration())
				}
				for s, freq := range sources {
					if freq == 0 {
						continue
					}
					want := mediatest.ToneWant{Freq: freq, Level: level, MinSNR: 60}
					if tt.customer != 0 && tt.agent != 0 {
						// Two tones in the mix: only the level of each is its own.
						if got := mediatest.Level(m[0], tt.rate, freq); math.Abs(got-level) > 0.5 {
							t.Errorf("mixed: %v Hz at %.2f dBFS, want %d", freq, got, level)
						}
					} else {
						mediatest.CheckTone(t, m[0], tt.rate, want)
					}
					mediatest.CheckTone(t, d[s], tt.rate, want)
					if g := mediatest.Goertzel(d[1-s], tt.rate, freq); g > -80 {
						t.Errorf("%v tone of %v Hz leaks into the %v channel at %.1f dBFS", s, freq, 1-s, g)
					}
				}
			})
		})
	}
}

// TestSilentSidesArePadded checks that the file follows the wall clock: a
// side that stops is silence, a side that starts later starts at the right
// time, and a pause of both sides stays in the file.
func TestSilentSidesArePadded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const rate = 8000
		r, path := newRecorder(t, rate, 2)
		talk := func(s Side, freq float64, frames int) {
			sine := mediatest.NewSine(rate, freq, -6)
			var f media.Frame
			for range frames {
				_ = sine.ReadFrame(&f)
				if err := r.Writer(s).WriteFrame(f); err != nil {
					t.Fatal(err)
				}
				time.Sleep(media.FrameDuration)
			}
		}
		talk(Customer, 440, 50) // 0 – 1 s
		talk(Agent, 1000, 50)   // 1 – 2 s
		time.Sleep(time.Second) // 2 – 3 s nobody
		talk(Customer, 600, 25) // 3 – 3.5 s
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		info, d := readPCM(t, path)
		if got := info.Duration(); got != 3500*time.Millisecond {
			t.Errorf("duration %v, want 3.5s", got)
		}
		for _, w := range []struct {
			side     Side
			from, to float64
			freq     float64 // 0: silence
		}{
			{Customer, 0, 1, 440},
			{Customer, 1, 3, 0},
			{Customer, 3, 3.5, 600},
			{Agent, 0, 1, 0},
			{Agent, 1, 2, 1000},
			{Agent, 2, 3.5, 0},
		} {
			x := seconds(d[w.side], rate, w.from, w.to)
			if w.freq == 0 {
				if slices.ContainsFunc(x, func(v int16) bool { return v != 0 }) {
					t.Errorf("%v channel %.1f–%.1f s is not silent", w.side, w.from, w.to)
				}
				continue
			}
			mediatest.CheckTone(t, x, rate, mediatest.ToneWant{Freq: w.freq, Level: -6, MinSNR: 60})
		}
	})
}

// TestHeaderFollowsTheData checks that the header of a file still being
// written declares all but at most the last second.
func TestHeaderFollowsTheData(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, path := newRecorder(t, 16000, 2)
		defer r.Close()
		frame := mediatest.Tone(16000, 440, -6, 320)
		for i := 1; i <= 150; i++ {
			if err := r.Write(Customer, frame); err != nil {
				t.Fatal(err)
			}
			time.Sleep(media.FrameDuration)
			synctest.Wait()
			fed := time.Duration(i) * media.FrameDuration
			info, err := Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := info.Duration(); got > fed || got < fed-time.Second-media.FrameDuration {
				t.Fatalf("after %v the header declares %v", fed, got)
			}
		}
	})
}

// TestLeadIsBounded: a side that runs ahead of a live but slow other side
// is written out once it is maxLead ahead, not kept in memory.
func TestLeadIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := newRecorder(t, 8000, 1)
		defer r.Close()
		if err := r.Write(Agent, make([]int16, 160)); err != nil {
			t.Fatal(err)
		}
		if err := r.Write(Customer, mediatest.Tone(8000, 440, -6, 3*8000)); err != nil {
			t.Fatal(err)
		}
		if got := r.Duration(); got < 2*time.Second {
			t.Errorf("3 s ahead of the other side, only %v reached the file", got)
		}
	})
}

func TestMixClips(t *testing.T) {
	r, path := newRecorder(t, 8000, 1)
	hi := []int16{32767, -32768, 20000, -20000, 100}
	lo := []int16{32767, -32768, 20000, -20000, -300}
	if err := r.Write(Customer, hi); err != nil {
		t.Fatal(err)
	}
	if err := r.Write(Agent, lo); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	_, m := readPCM(t, path)
	if want := []int16{32767, -32768, 32767, -32768, -200}; !slices.Equal(m[0], want) {
		t.Errorf("mix = %v, want %v", m[0], want)
	}
}

func TestFramesAndClose(t *testing.T) {
	r, path := newRecorder(t, 16000, 2)
	w := r.Writer(Agent)
	if got := media.Describe(w); got != "Record(agent, L16/16000)" {
		t.Errorf("String() = %q", got)
	}
	if err := w.WriteFrame(media.Frame{Payload: []byte{1}}); !errors.Is(err, errNotPCM) {
		t.Errorf("encoded frame: %v", err)
	}
	if err := r.Write(Side(2), []int16{1}); !errors.Is(err, errSide) {
		t.Errorf("side 2: %v", err)
	}
	if err := w.WriteFrame(media.Frame{Samples: []int16{7, 7}}); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFrame(media.Frame{Missing: true}); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFrame(media.Frame{Samples: []int16{9}}); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := w.WriteFrame(media.Frame{Samples: []int16{1}}); !errors.Is(err, ErrClosed) {
		t.Errorf("write after Close: %v", err)
	}
	_, d := readPCM(t, path)
	want := append(append([]int16{7, 7}, make([]int16, 320)...), 9)
	if !slices.Equal(d[Agent], want) || slices.ContainsFunc(d[Customer], func(v int16) bool { return v != 0 }) {
		t.Errorf("agent channel %d samples, want 2 + 320 of silence + 1", len(d[Agent]))
	}
	if _, err := New(path, Options{SampleRate: 8000, Channels: 1}); !errors.Is(err, fs.ErrExist) {
		t.Errorf("New over an existing file: %v", err)
	}
}

func TestSideString(t *testing.T) {
	if Customer.String() != "customer" || Agent.String() != "agent" || Side(5).String() != "Side(5)" {
		t.Error(Customer, Agent, Side(5))
	}
	if got := (Info{SampleRate: 8000, Frames: 12000}).Duration(); got != 1500*time.Millisecond {
		t.Error(got)
	}
}

// TestResumeFollowsTheOtherSide: a side that resumes after a silence starts
// where the other side has got to, even when that side's clock runs 2%
// slow, and not where the wall clock is.
func TestResumeFollowsTheOtherSide(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const rate, period, marked = 8000, 20400 * time.Microsecond, 196
		r, path := newRecorder(t, rate, 2)
		frame := func(v int16) []int16 {
			x := make([]int16, rate/50)
			for i := range x {
				x[i] = v
			}
			return x
		}
		done := make(chan struct{})
		go func() { // the customer, 2% slow
			defer close(done)
			for k := range 250 {
				v := int16(1000)
				if k == marked {
					v = 2000
				}
				if err := r.Write(Customer, frame(v)); err != nil {
					t.Error(err)
				}
				time.Sleep(period)
			}
		}()
		for range 50 { // the agent talks for a second, then is silent
			if err := r.Write(Agent, frame(1000)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(media.FrameDuration)
		}
		time.Sleep(marked*period - time.Second)
		for k := range 10 {
			v := int16(1000)
			if k == 0 {
				v = 3000
			}
			if err := r.Write(Agent, frame(v)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(media.FrameDuration)
		}
		<-done
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		_, d := readPCM(t, path)
		c, a := slices.Index(d[Customer], 2000), slices.Index(d[Agent], 3000)
		if c < 0 || a < 0 || a-c > rate/50 || a < c {
			t.Errorf("customer marker at sample %d, agent's at %d: want the same frame", c, a)
		}
	})
}
