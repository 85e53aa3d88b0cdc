package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/voxgate/voxgate/loadgen"
)

// TestLoadgenSmoke is the short run of make test: 20 concurrent calls
// against a real voxgate serve, each a SIP call replaying the recorded PCMU
// fixture with a WebSocket subscriber speaking back. Nothing may be lost,
// the subscribers must hear the fixture's speech and the phones the
// subscribers' markers. Speed is not asserted (that is make bench-load),
// but real time is needed: the race detector slows the gateway (this test
// binary) several times, so scripts/test.sh runs this test without it.
func TestLoadgenSmoke(t *testing.T) {
	if raceEnabled {
		t.Skip("real-time load: run without -race (scripts/test.sh does)")
	}
	sipAddr := freePort(t) // a TCP port free a moment ago: likely free for UDP too
	p := startServe(t, t.TempDir(), "--dev-key", "--rate-limit", "100000", "--sip-addr", sipAddr)
	out := p.stdout.String()
	i := strings.Index(out, "sk_live_")
	if i < 0 {
		t.Fatalf("no dev key printed:\n%s", out)
	}
	key := strings.Fields(out[i:])[0]
	dir := t.TempDir()
	jsonPath, htmlPath := filepath.Join(dir, "load.json"), filepath.Join(dir, "load.html")
	var stdout, stderr strings.Builder
	code := loadgenCmd([]string{"--url", p.base, "--api-key", key, "--fixture", "../../testdata/rtp/pcmu.pcap",
		"--calls", "20", "--duration", "3s", "--lost-after", "5s", "--pid", strconv.Itoa(p.cmd.Process.Pid), "--json", jsonPath, "--html", htmlPath},
		func(string) string { return "" }, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("loadgen exited %d:\n%s%s", code, stdout.String(), stderr.String())
	}
	raw, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var rep loadgen.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Steps) != 1 {
		t.Fatalf("steps: %+v", rep.Steps)
	}
	s := rep.Steps[0]
	report := stdout.String() + stderr.String()
	if s.Calls != 20 || s.SetupsOK != 20 || s.SetupsFailed != 0 {
		t.Fatalf("set-ups: %d ok, %d failed\n%s", s.SetupsOK, s.SetupsFailed, report)
	}
	if s.FramesSent < 20*100 || s.FramesLost != 0 || s.Forward.Count < s.FramesSent*9/10 {
		t.Fatalf("frames to the subscribers: %d sent, %d lost, %d timed\n%s", s.FramesSent, s.FramesLost, s.Forward.Count, report)
	}
	if s.MarkersSent < 20*10 || s.MarkersLost != 0 || s.RTPLost != 0 {
		t.Fatalf("markers to the phones: %d sent, %d lost; RTP lost %d\n%s", s.MarkersSent, s.MarkersLost, s.RTPLost, report)
	}
	if s.AudioMatch < 0.9 {
		t.Fatalf("the subscribers heard %.0f%% of the fixture's speech frames at their level\n%s", 100*s.AudioMatch, report)
	}
	if s.RSS == 0 || s.CPU <= 0 {
		t.Fatalf("gateway usage not measured: %+v", s)
	}
	page, err := os.ReadFile(htmlPath)
	if err != nil || !strings.Contains(string(page), "<svg") || !strings.Contains(string(page), "<polyline") {
		t.Fatalf("the HTML report has no chart: %v", err)
	}
	if !strings.Contains(stdout.String(), "fwd p99") {
		t.Fatalf("no table on stdout:\n%s", stdout.String())
	}
}
