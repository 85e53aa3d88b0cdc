package main

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// sendump builds a sendump of feats × codewords × senones weights, all
// bytes v, as mk_s2sendump lays it out.
func sendump(feats, codewords, senones int, v byte) []byte {
	var b []byte
	for _, s := range []string{"cluster_count 0\x00", "feature_count " + string(rune('0'+feats)) + "\x00"} {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, uint32(codewords))
	b = binary.LittleEndian.AppendUint32(b, uint32(senones))
	return append(b, bytes.Repeat([]byte{v}, feats*codewords*senones)...)
}

// TestReadSendump: equal quantized weights come back as uniform
// distributions of the right shape.
func TestReadSendump(t *testing.T) {
	w, dims, err := readSendump(bytes.NewReader(sendump(3, 4, 5, 7)))
	if err != nil {
		t.Fatal(err)
	}
	if dims != [3]int{5, 3, 4} || len(w) != 60 {
		t.Fatalf("dims %v, %d weights", dims, len(w))
	}
	for i, p := range w {
		if p < 0.2499 || p > 0.2501 {
			t.Fatalf("weight %d = %v, want 0.25", i, p)
		}
	}
	if _, _, err := readSendump(bytes.NewReader(sendump(3, 4, 5, 7)[:50])); err == nil {
		t.Fatal("a truncated sendump was read")
	}
}

func FuzzReadSendump(f *testing.F) {
	f.Add(sendump(1, 2, 3, 9))
	f.Add(sendump(3, 4, 5, 255)[:40])
	f.Fuzz(func(t *testing.T, b []byte) {
		w, dims, err := readSendump(bytes.NewReader(b))
		if err == nil && len(w) != dims[0]*dims[1]*dims[2] {
			t.Fatalf("%d weights for %v", len(w), dims)
		}
	})
}
