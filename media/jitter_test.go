package media

import (
	"fmt"
	"testing"
	"time"
)

type emitted struct {
	payload string
	ts      uint32
	missing bool
}

func TestReorderWindow(t *testing.T) {
	var r ReorderWindow
	var out []emitted
	emit := func(p []byte, ts uint32, missing bool) { out = append(out, emitted{string(p), ts, missing}) }
	push := func(seq uint16) { r.Push(seq, uint32(seq)*160, []byte(fmt.Sprint(seq)), emit) }
	// In order, reordered, duplicated, across the sequence wrap.
	for _, seq := range []uint16{65533, 65535, 65534, 0, 0, 1} {
		push(seq)
	}
	want := []emitted{{"65533", 65533 * 160, false}, {"65534", 65534 * 160, false}, {"65535", 65535 * 160, false}, {"0", 0, false}, {"1", 160, false}}
	if fmt.Sprint(out) != fmt.Sprint(want) {
		t.Fatalf("got %v", out)
	}
	// A loss: 2 never comes; after Window more packets the gap is concealed.
	out = nil
	for _, seq := range []uint16{3, 4, 5, 6} {
		push(seq)
	}
	want = []emitted{{"", 0, true}, {"3", 480, false}, {"4", 640, false}, {"5", 800, false}, {"6", 960, false}}
	if fmt.Sprint(out) != fmt.Sprint(want) {
		t.Fatalf("loss: got %v", out)
	}
	if r.Push(2, 320, nil, emit) { // too late now
		t.Fatal("accepted a packet after its gap went out")
	}
	st := r.Stats()
	// The second 0 came after 0 had gone out: late, like 2.
	if st.Late != 2 || st.Concealed != 1 || st.Pushed != 11 {
		t.Fatalf("stats %+v", st)
	}
	// A new stream: what waits goes out first, then sequencing restarts.
	out = nil
	push(9) // waits for 7 and 8
	r.Reset(emit)
	push(500)
	want = []emitted{{"", 0, true}, {"", 0, true}, {"9", 9 * 160, false}, {"500", 500 * 160, false}}
	if fmt.Sprint(out) != fmt.Sprint(want) {
		t.Fatalf("reset: got %v", out)
	}
}

func TestJitterBufferSmoothsAndAdapts(t *testing.T) {
	j := NewJitterBuffer(8000)
	start := time.Unix(0, 0)
	var f Frame
	// A steady stream: depth stays at the minimum and every frame plays.
	for i := range 50 {
		j.Push(uint16(i), uint32(i*160), []byte{byte(i)}, start.Add(time.Duration(i)*20*time.Millisecond))
		if !j.Pop(&f) || f.Missing || f.Payload[0] != byte(i) || f.Timestamp != uint32(i*160) {
			t.Fatalf("steady frame %d: %+v", i, f)
		}
	}
	if d := j.Stats().Depth; d != 1 {
		t.Fatalf("steady depth %d", d)
	}
	// Jittery arrivals (±40 ms): the target depth grows, but never past 10.
	for i := 50; i < 300; i++ {
		wobble := time.Duration((i%5)-2) * 20 * time.Millisecond
		j.Push(uint16(i), uint32(i*160), []byte{byte(i)}, start.Add(time.Duration(i)*20*time.Millisecond+wobble))
		j.Pop(&f)
	}
	st := j.Stats()
	if st.Depth < 3 || st.Depth > 10 {
		t.Fatalf("jittery depth %d (jitter %v)", st.Depth, st.Jitter)
	}
	// Steady again: the depth comes back down to the minimum.
	for i := 300; i < 400; i++ {
		j.Push(uint16(i), uint32(i*160), []byte{byte(i)}, start.Add(time.Duration(i)*20*time.Millisecond))
		j.Pop(&f)
	}
	if d := j.Stats().Depth; d != 1 {
		t.Fatalf("depth %d after the jitter stopped", d)
	}
	// A timestamp jump (the sender restarted its clock) is not jitter.
	j.Push(400, 1<<30, []byte{1}, start.Add(8*time.Second))
	if d := j.Stats().Depth; d != 1 {
		t.Fatalf("depth %d after a timestamp jump", d)
	}
	// A burst of 100 packets at once never holds more than MaxDepth, even
	// when asked for more than 200 ms.
	j.MaxDepth = 50
	for i := 401; i < 500; i++ {
		j.Push(uint16(i), uint32(i*160), []byte{1}, start.Add(8*time.Second))
	}
	if j.count > 10 {
		t.Fatalf("holds %d frames", j.count)
	}
	if d := j.Stats().Depth; d > 10 {
		t.Fatalf("depth %d after a burst, past the 200 ms cap", d)
	}
	if j.Stats().Overflow == 0 {
		t.Fatal("burst not counted")
	}
}

func TestJitterBufferLossLateDuplicate(t *testing.T) {
	j := NewJitterBuffer(8000)
	j.MinDepth = 3 // 60 ms to put things back in order
	start := time.Unix(0, 0)
	var f Frame
	for _, seq := range []uint16{10, 12, 11, 11, 14} { // 13 lost, 11 duplicated
		j.Push(seq, uint32(seq)*160, []byte{byte(seq)}, start.Add(time.Duration(seq)*20*time.Millisecond))
	}
	var got []string
	for j.Pop(&f) {
		if f.Missing {
			got = append(got, "gap")
		} else {
			got = append(got, fmt.Sprint(f.Payload[0]))
		}
	}
	if fmt.Sprint(got) != "[10 11 12 gap 14]" {
		t.Fatalf("played %v", got)
	}
	j.Push(12, 12*160, []byte{12}, start.Add(time.Second)) // already played: late
	st := j.Stats()
	if st.Duplicates != 1 || st.Late != 1 || st.Concealed != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func FuzzJitterBuffer(f *testing.F) {
	f.Add([]byte{0, 1, 0, 2, 0, 1, 255, 255, 0, 0})
	f.Add([]byte{200, 0, 1, 0, 7, 7, 7})
	f.Fuzz(func(t *testing.T, seqs []byte) {
		j := NewJitterBuffer(8000)
		var r ReorderWindow
		var fr Frame
		now := time.Unix(0, 0)
		for i := 0; i+1 < len(seqs); i += 2 {
			seq := uint16(seqs[i])<<8 | uint16(seqs[i+1])
			now = now.Add(time.Duration(seqs[i]) * time.Millisecond)
			j.Push(seq, uint32(seq)*160, seqs[i:i+2], now)
			r.Push(seq, uint32(seq), seqs[i:i+2], func([]byte, uint32, bool) {})
			if i%4 == 0 {
				j.Pop(&fr)
			}
			if j.count > maxJitterDepth || j.count < 0 {
				t.Fatalf("holds %d", j.count)
			}
		}
	})
}

// BenchmarkJitterBuffer measures a push and a pop of a steady stream.
func BenchmarkJitterBuffer(b *testing.B) {
	j := NewJitterBuffer(8000)
	payload := make([]byte, 160)
	var f Frame
	var seq uint16
	start := time.Unix(0, 0)
	b.ReportAllocs()
	for b.Loop() {
		j.Push(seq, uint32(seq)*160, payload, start.Add(time.Duration(seq)*20*time.Millisecond))
		j.Pop(&f)
		seq++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}

// BenchmarkReorderWindow measures a packet through the pass-through window.
func BenchmarkReorderWindow(b *testing.B) {
	var r ReorderWindow
	payload := make([]byte, 160)
	emit := func([]byte, uint32, bool) {}
	var seq uint16
	b.ReportAllocs()
	for b.Loop() {
		r.Push(seq, uint32(seq)*160, payload, emit)
		seq++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}
