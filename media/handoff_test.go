package media

import (
	"bytes"
	"testing"
)

// TestHandoff: frames wait for Read in order, a full queue drops the
// newest, and once a writer is named the waiting frames reach it first,
// then each new one as it is put; Read ends when done closes.
func TestHandoff(t *testing.T) {
	h := NewHandoff(2)
	for i := range byte(3) {
		if ok := h.Put(Frame{Payload: []byte{i}, Timestamp: uint32(i), Missing: i == 1}); ok != (i < 2) {
			t.Fatalf("frame %d: put %v", i, ok)
		}
	}
	var f Frame
	if !h.Read(&f, nil) || !bytes.Equal(f.Payload, []byte{0}) || f.Timestamp != 0 || f.Missing {
		t.Fatalf("read %+v", f)
	}
	h.Put(Frame{Payload: []byte{9}, Timestamp: 9})
	var got []Frame
	h.Deliver(WriterFunc(func(f Frame) error {
		got = append(got, Frame{Payload: append([]byte(nil), f.Payload...), Timestamp: f.Timestamp, Missing: f.Missing})
		return nil
	}))
	if len(got) != 0 {
		t.Fatal("Deliver wrote on the caller's goroutine")
	}
	h.Put(Frame{Payload: []byte{10}, Timestamp: 10})
	h.Put(Frame{Payload: []byte{11}, Timestamp: 11})
	want := []Frame{{Payload: []byte{1}, Timestamp: 1, Missing: true}, {Payload: []byte{9}, Timestamp: 9}, {Payload: []byte{10}, Timestamp: 10}, {Payload: []byte{11}, Timestamp: 11}}
	if len(got) != len(want) {
		t.Fatalf("delivered %+v", got)
	}
	for i := range want {
		if !bytes.Equal(got[i].Payload, want[i].Payload) || got[i].Timestamp != want[i].Timestamp || got[i].Missing != want[i].Missing {
			t.Fatalf("frame %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	done := make(chan struct{})
	close(done)
	if NewHandoff(1).Read(&f, done) {
		t.Fatal("Read after done")
	}
}

// TestHandoffAllocatesNothing: once its buffers exist, a frame put and read
// (or delivered) allocates nothing.
func TestHandoffAllocatesNothing(t *testing.T) {
	h := NewHandoff(4)
	payload := make([]byte, 160)
	var f Frame
	h.Put(Frame{Payload: payload})
	h.Read(&f, nil)
	if n := testing.AllocsPerRun(100, func() { h.Put(Frame{Payload: payload}); h.Read(&f, nil) }); n != 0 {
		t.Fatalf("%.1f allocations per frame read", n)
	}
	h.Deliver(WriterFunc(func(Frame) error { return nil }))
	if n := testing.AllocsPerRun(100, func() { h.Put(Frame{Payload: payload}) }); n != 0 {
		t.Fatalf("%.1f allocations per frame delivered", n)
	}
}
