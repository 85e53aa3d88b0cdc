package loadgen

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func testReport() *Report {
	r := &Report{Fixture: "pcmu", Codec: "PCMU/8000", Mode: "ramp", Started: time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC),
		Machine: "test cpu", Cores: 2, Capacity: 100, StoppedBy: "3 of 1000 frames lost"}
	for i, n := range []int{100, 200} {
		r.Steps = append(r.Steps, Step{Calls: n, SetupsOK: 100, SetupRate: 150,
			Forward:    Summary{Count: 10, P50: time.Millisecond, P95: 2 * time.Millisecond, P99: 3 * time.Millisecond, Max: 4 * time.Millisecond},
			Return:     Summary{Count: 10, P50: 5 * time.Millisecond, P99: 9 * time.Millisecond, Max: 12 * time.Millisecond},
			FramesSent: 1000, FramesLost: 3 * i, CPU: 0.5 * float64(i+1), RSS: 100 << 20, RSSPerCall: 80 << 10, AudioMatch: 1, LoadAvg: 1.5})
		r.Timeline = append(r.Timeline, Sample{At: float64(i), Calls: n, CPU: 0.5, RSS: 100 << 20})
	}
	return r
}

// The report a person reads: a table, JSON that reads back, a page with
// its charts, and a BENCHMARKS.md section replaced in place on each run.
func TestReportOutputs(t *testing.T) {
	r := testReport()
	var table bytes.Buffer
	if err := r.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"fwd p99", "3.00", "capacity: 100 calls", "3 of 1000 frames lost"} {
		if !strings.Contains(table.String(), want) {
			t.Fatalf("table lacks %q:\n%s", want, table.String())
		}
	}
	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Steps[1].Forward.P99 != 3*time.Millisecond || back.Capacity != 100 {
		t.Fatalf("%v %+v", err, back)
	}
	var page bytes.Buffer
	if err := r.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(page.String(), "<svg"); n != 2 || !strings.Contains(page.String(), "forward p99") || strings.Contains(page.String(), "&lt;svg") {
		t.Fatalf("%d charts:\n%s", n, page.String())
	}

	md := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	if err := os.WriteFile(md, []byte("# Benchmarks\n\n## Other\n\ntext\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := r.UpdateMarkdown(md, "make bench-load"); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(md)
	text := string(b)
	if strings.Count(text, mdBegin) != 1 || strings.Count(text, "## Load") != 1 || !strings.Contains(text, "## Other\n\ntext") ||
		!strings.Contains(text, "| 200 | 150 | 0 | 1.00 / 3.00 / 4.00 |") || !strings.Contains(text, "make bench-load") {
		t.Fatalf("BENCHMARKS.md:\n%s", text)
	}
}
