package loadgen

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"testing"
	"time"
)

func TestProcUsage(t *testing.T) {
	spin := time.Now()
	for time.Since(spin) < 50*time.Millisecond { // burn a little CPU to see
	}
	u, err := ProcUsage(os.Getpid())(context.Background())
	if err != nil || u.CPU <= 0 || u.RSS < 1<<20 {
		t.Fatalf("%+v %v", u, err)
	}
	if _, err := ProcUsage(1 << 30)(context.Background()); err == nil {
		t.Fatal("a missing process has usage")
	}
}

func TestMetricsUsage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"+
			"# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 12.5\n"+
			"go_goroutines 42\nprocess_resident_memory_bytes 1.2345678e+08\n")
	}))
	defer srv.Close()
	u, err := MetricsUsage(srv.URL)(context.Background())
	if err != nil || u.CPU != 12500*time.Millisecond || u.RSS != 123456780 {
		t.Fatalf("%+v %v", u, err)
	}
	empty := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "go_goroutines 1\n") }))
	defer empty.Close()
	if _, err := MetricsUsage(empty.URL)(context.Background()); err == nil {
		t.Fatal("usage from a page without the process collector")
	}
}

// A receiver's view of a stream: two packets lost out of ten, across a
// sequence-number wrap, with 5 ms of jitter on every other packet.
func TestArrivals(t *testing.T) {
	a := NewArrivals(8000)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 10 {
		if i == 3 || i == 7 {
			continue
		}
		at := t0.Add(time.Duration(i) * 20 * time.Millisecond)
		if i%2 == 1 {
			at = at.Add(5 * time.Millisecond)
		}
		a.On(uint16(65530+i), uint32(i*160), at)
	}
	if a.Received() != 8 || a.Lost() != 2 {
		t.Fatalf("received %d, lost %d", a.Received(), a.Lost())
	}
	if j := a.Jitter(); j <= 0 || j > 5*time.Millisecond {
		t.Fatalf("jitter %v", j)
	}
	a.resetCounts()
	a.On(4, 10*160, t0.Add(200*time.Millisecond)) // 65540, wrapped
	if a.Received() != 1 || a.Lost() != 0 {
		t.Fatalf("after a reset: received %d, lost %d", a.Received(), a.Lost())
	}
}

// Frames and markers that never arrive are lost once expired; a frame the
// gateway made up for a gap is concealed; a repeat is a duplicate.
func TestForwardAndReturnCounts(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := NewForward(40 * time.Millisecond)
	for i := range int64(5) {
		f.OnSent(i, t0.Add(time.Duration(i)*20*time.Millisecond))
	}
	f.OnReceived(0, t0.Add(time.Millisecond))
	f.OnReceived(0, t0.Add(2*time.Millisecond))
	f.OnReceived(1, t0.Add(80*time.Millisecond)) // 60 ms: late
	f.OnReceived(7, t0.Add(90*time.Millisecond)) // never sent: a gap filled in
	f.Expire(t0.Add(time.Second))
	if f.Sent != 5 || f.Received != 2 || f.Lost != 3 || f.Late != 1 || f.Duplicates != 1 || f.Concealed != 1 {
		t.Fatalf("%+v", *f)
	}
	r := NewReturn(40*time.Millisecond, time.Second)
	r.OnSent(t0)
	r.OnSent(t0.Add(1500 * time.Millisecond))
	r.OnFrame(-60, t0.Add(1900*time.Millisecond))
	r.OnFrame(-6, t0.Add(2*time.Second))         // the first marker is too old to be this one
	r.OnFrame(-6, t0.Add(2020*time.Millisecond)) // still loud: the same marker
	if r.Heard != 1 || r.Lost != 1 || r.Late != 1 || r.Latency.Summarize().Max != 500*time.Millisecond {
		t.Fatalf("%+v", *r)
	}
}

// A marker lost on the way counts once: the markers after it are paired
// with their own sends, not each with the one a period before, and a
// latency that grows past the marker period is still followed.
func TestReturnPairsMarkersByLatency(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	period := MarkerEvery * 20 * time.Millisecond
	r := NewReturn(40*time.Millisecond, time.Second)
	latencies := []time.Duration{10, 12, -1, 11, 150, 190, 230, 270, 260, 240}
	type event struct {
		at   time.Time
		sent bool
	}
	var events []event
	for i, ms := range latencies {
		sent := t0.Add(time.Duration(i) * period)
		events = append(events, event{sent, true})
		if ms >= 0 { // the third marker never arrives
			events = append(events, event{sent.Add(ms * time.Millisecond), false})
		}
	}
	slices.SortStableFunc(events, func(a, b event) int { return a.at.Compare(b.at) })
	for _, e := range events {
		if e.sent {
			r.OnSent(e.at)
			continue
		}
		r.OnFrame(-6, e.at)
		r.OnFrame(-60, e.at.Add(20*time.Millisecond))
	}
	if r.Heard != len(latencies)-1 || r.Lost != 1 {
		t.Fatalf("heard %d, lost %d; want %d and 1", r.Heard, r.Lost, len(latencies)-1)
	}
	var want Latencies
	for _, ms := range latencies {
		if ms >= 0 {
			want.Add(ms * time.Millisecond)
		}
	}
	if got := r.Latency.Summarize(); got != want.Summarize() {
		t.Fatalf("latencies %+v, want %+v", got, want.Summarize())
	}
}
