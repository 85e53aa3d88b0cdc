package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// wavFile returns a canonical header declaring declared data bytes,
// followed by data bytes of samples.
func wavFile(rate, channels int, declared uint32, data int) []byte {
	b := make([]byte, headerSize+data)
	putHeader(b, rate, channels, declared)
	for i := headerSize; i < len(b); i++ {
		b[i] = byte(i)
	}
	return b
}

func writeTemp(t testing.TB, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rec.wav")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRepair(t *testing.T) {
	le := binary.LittleEndian
	// A consistent file with a LIST chunk after the data, as other tools write.
	withList := wavFile(8000, 1, 100, 100)
	withList = append(withList, "LIST\x04\x00\x00\x00abcd"...)
	le.PutUint32(withList[4:], uint32(len(withList)-8))
	// A header with an extra chunk between fmt and data.
	withJunk := append([]byte(nil), wavFile(16000, 2, 0, 0)[:36]...)
	withJunk = append(withJunk, "junk\x03\x00\x00\x00xyz\x00data\x00\x00\x00\x00"...)
	withJunk = append(withJunk, make([]byte, 4003)...)

	tests := []struct {
		name       string
		file       []byte
		wantFrames int64
		wantSize   int64
		repaired   bool
	}{
		{"crash before the first header update", wavFile(8000, 1, 0, 16001), 8000, headerSize + 16000, true},
		{"stale header, stereo, partial frame", wavFile(16000, 2, 400, 64003), 16000, headerSize + 64000, true},
		{"streaming sizes", wavFile(8000, 2, 0xffffffff, 3200), 800, headerSize + 3200, true},
		{"empty data", wavFile(8000, 1, 0, 0), 0, headerSize, false},
		{"header declares more than there is", wavFile(8000, 1, 5000, 1000), 500, headerSize + 1000, true},
		{"already whole", wavFile(8000, 1, 1000, 1000), 500, headerSize + 1000, false},
		{"whole, with a chunk after data", withList, 50, int64(len(withList)), false},
		{"chunk before data", withJunk, 1000, int64(len(withJunk)) - 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeTemp(t, tt.file)
			info, err := Repair(path)
			if err != nil {
				t.Fatal(err)
			}
			if info.Frames != tt.wantFrames || info.Repaired != tt.repaired {
				t.Errorf("Repair = %+v, want %d frames, repaired %v", info, tt.wantFrames, tt.repaired)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(b)) != tt.wantSize {
				t.Errorf("size %d, want %d", len(b), tt.wantSize)
			}
			if got := int64(le.Uint32(b[4:])) + 8; got != tt.wantSize {
				t.Errorf("RIFF size says %d bytes, want %d", got, tt.wantSize)
			}
			if !bytes.Equal(b[:min(len(b), len(tt.file))], tt.file[:min(len(b), len(tt.file))]) != tt.repaired {
				t.Errorf("file changed: %v, want %v", !tt.repaired, tt.repaired)
			}
			again, err := Repair(path)
			if err != nil || again.Repaired || again.Frames != tt.wantFrames {
				t.Errorf("second Repair = %+v, %v", again, err)
			}
			if st, err := Stat(path); err != nil || st.Frames != tt.wantFrames {
				t.Errorf("Stat = %+v, %v", st, err)
			}
		})
	}
}

func TestRepairRejectsGarbage(t *testing.T) {
	bad := func(off int, v string) []byte {
		b := wavFile(8000, 1, 0, 100)
		copy(b[off:], v)
		return b
	}
	tests := map[string][]byte{
		"empty":           {},
		"short":           []byte("RIFF\x00\x00"),
		"not riff":        bad(0, "RIFX"),
		"not wave":        bad(8, "AVI "),
		"24-bit":          bad(34, "\x18\x00"),
		"mu-law":          bad(20, "\x07\x00"),
		"6 channels":      bad(22, "\x06\x00"),
		"bad block":       bad(32, "\x03\x00"),
		"data before fmt": bad(12, "data"),
		"no data chunk":   wavFile(8000, 1, 0, 0)[:36],
		"huge chunk":      bad(16, "\xff\xff\xff\xff"),
		"text":            []byte("this is not audio at all, only some words"),
	}
	for name, file := range tests {
		path := writeTemp(t, file)
		if _, err := Repair(path); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: Repair error %v, want ErrCorrupt", name, err)
		}
		if b, _ := os.ReadFile(path); !bytes.Equal(b, file) {
			t.Errorf("%s: Repair changed a file it could not read", name)
		}
	}
	if _, err := Repair(filepath.Join(t.TempDir(), "missing.wav")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// FuzzRepair feeds Repair arbitrary files: it must not panic, and a file it
// accepts must come out whole and stay as it is on a second Repair.
func FuzzRepair(f *testing.F) {
	f.Add(wavFile(8000, 1, 0, 1001))
	f.Add(wavFile(16000, 2, 12, 403))
	f.Add([]byte("RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		path := writeTemp(t, b)
		info, err := Repair(path)
		if err != nil {
			return
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Repaired && st.Size() != info.dataOffset+info.Frames*info.blockAlign() {
			t.Fatalf("repaired to %d bytes, header says %d frames from %d", st.Size(), info.Frames, info.dataOffset)
		}
		again, err := Repair(path)
		if err != nil || again.Repaired || again.Frames != info.Frames {
			t.Fatalf("second Repair = %+v, %v after %+v", again, err, info)
		}
	})
}
