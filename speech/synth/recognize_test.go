package synth

import (
	"context"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestFliteRecognizable checks that flite's English is words, not just
// energy: Debian's pocketsphinx (make test installs it) transcribes it back.
func TestFliteRecognizable(t *testing.T) {
	text := "good morning thank you for calling the support line"
	pcm, err := NewFlite().Synthesize(context.Background(), text, "en", "")
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "speech.wav")
	if err := os.WriteFile(f, wavFile(Rate, pcm), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pocketsphinx_continuous", "-infile", f, "-logfn", "/dev/null").Output()
	if err != nil {
		t.Fatalf("pocketsphinx_continuous: %v", err)
	}
	heard := strings.Fields(string(out))
	t.Logf("heard %q", heard)
	hits := 0
	for _, w := range strings.Fields(text) {
		for _, h := range heard {
			if h == w {
				hits++
				break
			}
		}
	}
	if hits < 7 { // of 9 words
		t.Errorf("recognised %d of 9 words: %q", hits, out)
	}
}

// wavFile wraps mono PCM16 in a RIFF header.
func wavFile(rate int, pcm []int16) []byte {
	b := []byte("RIFF")
	b = binary.LittleEndian.AppendUint32(b, uint32(36+2*len(pcm)))
	b = append(b, "WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(rate))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate*2))
	b = append(b, "\x02\x00\x10\x00data"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(2*len(pcm)))
	for _, v := range pcm {
		b = binary.LittleEndian.AppendUint16(b, uint16(v))
	}
	return b
}
