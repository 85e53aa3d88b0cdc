package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/voxgate/voxgate/media/mediatest"
)

// tool returns the path of an external program the test needs, failing
// the test with the Debian package to install when it is missing.
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: apt-get install %s", name, pkg)
	}
	return path
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// recordTones writes a recording of 2 s with a 440 Hz customer at -12 dBFS
// and, when agent, a 1000 Hz agent at -6 dBFS, frame by frame.
func recordTones(t *testing.T, path string, rate, channels int, agent bool) {
	t.Helper()
	r, err := New(path, Options{SampleRate: rate, Channels: channels})
	if err != nil {
		t.Fatal(err)
	}
	c, a := mediatest.NewSine(rate, 440, -12), mediatest.NewSine(rate, 1000, -6)
	for range 100 {
		if err := r.Write(Customer, c.Samples(rate/50)); err != nil {
			t.Fatal(err)
		}
		if agent {
			if err := r.Write(Agent, a.Samples(rate/50)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestExport encodes recordings to MP3 and Ogg/Opus, decodes them with the
// reference decoders (mpg123, opusdec), and finds each tone in its channel
// at its level.
func TestExport(t *testing.T) {
	mpg123 := tool(t, "mpg123", "mpg123")
	opusdec := tool(t, "opusdec", "opus-tools")
	opusinfo := tool(t, "opusinfo", "opus-tools")
	tests := []struct {
		format   Format
		rate     int
		channels int
		agent    bool
	}{
		{MP3, 8000, 1, false},
		{MP3, 16000, 1, true},
		{MP3, 8000, 2, true},
		{MP3, 16000, 2, true},
		{Ogg, 8000, 1, false},
		{Ogg, 16000, 1, true},
		{Ogg, 8000, 2, true},
		{Ogg, 16000, 2, true},
	}
	for _, tt := range tests {
		name := string(tt.format) + "/" + map[int]string{1: "mixed", 2: "dual"}[tt.channels]
		t.Run(name+"/"+map[int]string{8000: "8k", 16000: "16k"}[tt.rate], func(t *testing.T) {
			dir := t.TempDir()
			src, dst, dec := filepath.Join(dir, "rec.wav"), filepath.Join(dir, "rec."+string(tt.format)), filepath.Join(dir, "dec.wav")
			recordTones(t, src, tt.rate, tt.channels, tt.agent)
			if err := ExportFile(src, dst, tt.format); err != nil {
				t.Fatal(err)
			}
			rate := tt.rate
			var maxExtra time.Duration
			switch tt.format {
			case MP3:
				run(t, mpg123, "-q", "-w", dec, dst)
				maxExtra = 200 * time.Millisecond // encoder delay and padding, no gapless tag
			case Ogg:
				if out := run(t, opusinfo, dst); strings.Contains(out, "WARNING") || strings.Contains(out, "ERROR") {
					t.Errorf("opusinfo finds the stream broken:\n%s", out)
				}
				run(t, opusdec, "--quiet", "--rate", "48000", dst, dec)
				rate = 48000 // decode at Opus's own rate: the tones must survive resampling too
			}
			info, chans := readPCM(t, dec)
			if info.SampleRate != rate || info.Channels != tt.channels {
				t.Fatalf("decoded %d Hz %d channels, want %d Hz %d", info.SampleRate, info.Channels, rate, tt.channels)
			}
			if d := info.Duration(); d < 2*time.Second || d > 2*time.Second+maxExtra {
				t.Errorf("decoded %v, want 2s (+%v)", d, maxExtra)
			}
			mid := func(c int) []int16 { return seconds(chans[c], rate, 0.3, 1.7) }
			customer := mediatest.ToneWant{Freq: 440, Level: -12, MinSNR: 20}
			agent := mediatest.ToneWant{Freq: 1000, Level: -6, MinSNR: 20}
			switch {
			case tt.channels == 2:
				mediatest.CheckTone(t, mid(0), rate, customer)
				mediatest.CheckTone(t, mid(1), rate, agent)
				// Each side is its own stream (Opus) or channel (MP3 plain
				// stereo): no crosstalk.
				if l := mediatest.Level(mid(1), rate, 440); l > -70 {
					t.Errorf("customer tone in the agent channel at %.1f dBFS", l)
				}
				if l := mediatest.Level(mid(0), rate, 1000); l > -70 {
					t.Errorf("agent tone in the customer channel at %.1f dBFS", l)
				}
			case tt.agent:
				for _, w := range []mediatest.ToneWant{customer, agent} {
					if l := mediatest.Level(mid(0), rate, w.Freq); math.Abs(l-w.Level) > 1 {
						t.Errorf("mixed: %v Hz at %.2f dBFS, want %v", w.Freq, l, w.Level)
					}
				}
			default:
				mediatest.CheckTone(t, mid(0), rate, customer)
			}
		})
	}
}

// TestOggPages parses the Ogg stream Export writes and checks what the
// decoders above do not all check: page CRCs, sequence, flags and granule
// positions (RFC 3533 and RFC 7845).
func TestOggPages(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "rec.wav")
	recordTones(t, src, 8000, 1, false)
	var buf bytes.Buffer
	if err := Export(&buf, src, Ogg); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	le := binary.LittleEndian
	var pages int
	var last int64
	for len(b) > 0 {
		if len(b) < 27 || string(b[:4]) != "OggS" {
			t.Fatalf("page %d: no capture pattern", pages)
		}
		nseg := int(b[26])
		size := 27 + nseg
		for _, l := range b[27 : 27+nseg] {
			size += int(l)
		}
		page := append([]byte(nil), b[:size]...)
		crc := le.Uint32(page[22:])
		le.PutUint32(page[22:], 0)
		if oggCRC(page) != crc {
			t.Errorf("page %d: bad CRC", pages)
		}
		if seq := le.Uint32(page[18:]); seq != uint32(pages) {
			t.Errorf("page %d has sequence number %d", pages, seq)
		}
		flags, granule := page[5], int64(le.Uint64(page[6:]))
		data := page[27+nseg:]
		switch pages {
		case 0:
			if flags != oggBOS || granule != 0 || string(data[:8]) != "OpusHead" || data[9] != 1 || le.Uint16(data[10:]) != opusPreSkip || le.Uint32(data[12:]) != 8000 {
				t.Errorf("bad first page: flags %x granule %d % x", flags, granule, data)
			}
		case 1:
			if flags != 0 || granule != 0 || string(data[:8]) != "OpusTags" {
				t.Errorf("bad second page: flags %x granule %d %q", flags, granule, data)
			}
		}
		if granule < last {
			t.Errorf("page %d: granule position goes back from %d to %d", pages, last, granule)
		}
		last = granule
		b = b[size:]
		pages++
		if len(b) == 0 && (flags != oggEOS || granule != opusPreSkip+2*48000) {
			t.Errorf("last page: flags %x, granule %d, want EOS and %d", flags, granule, opusPreSkip+2*48000)
		}
	}
	if pages < 3 {
		t.Errorf("only %d pages", pages)
	}
}

func TestExportErrors(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "rec.wav")
	recordTones(t, src, 8000, 1, false)
	dst := filepath.Join(dir, "rec.flac")
	if err := ExportFile(src, dst, "flac"); !errors.Is(err, ErrUnsupportedFormat) {
		t.Errorf("flac: %v", err)
	}
	garbage := filepath.Join(dir, "garbage.wav")
	if err := os.WriteFile(garbage, []byte("not a recording"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ExportFile(garbage, dst, MP3); !errors.Is(err, ErrCorrupt) {
		t.Errorf("garbage: %v", err)
	}
	if err := ExportFile(filepath.Join(dir, "missing.wav"), dst, Ogg); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("failed exports left files behind: %v", entries)
	}
}

func TestSelfDelimited(t *testing.T) {
	long := bytes.Repeat([]byte{7}, 700)
	tests := []struct {
		name string
		in   []byte
		want []byte
	}{
		{"code 0", []byte{0x78, 1, 2, 3}, []byte{0x78, 3, 1, 2, 3}},
		{"code 0 long", append([]byte{0x78}, long...), append([]byte{0x78, 252, 112}, long...)},
		{"code 1", []byte{0x79, 1, 2, 3, 4}, []byte{0x79, 2, 1, 2, 3, 4}},
		{"code 2", []byte{0x7a, 1, 9, 5, 6}, []byte{0x7a, 1, 2, 9, 5, 6}},
	}
	for _, tt := range tests {
		got, err := appendSelfDelimited(nil, tt.in)
		if err != nil || !bytes.Equal(got, tt.want) {
			t.Errorf("%s: % x, %v; want % x", tt.name, got, err, tt.want)
		}
	}
	for _, bad := range [][]byte{{}, {0x7b, 1}, {0x7a, 5, 1}, {0x7a}} {
		if _, err := appendSelfDelimited(nil, bad); !errors.Is(err, errOpusFraming) {
			t.Errorf("% x: %v, want errOpusFraming", bad, err)
		}
	}
	if n, k := frameLength([]byte{252, 112}); n != 700 || k != 2 {
		t.Errorf("frameLength = %d, %d", n, k)
	}
}
