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
	dir := t.TempDir()
	s, report, stdout := runLoadgen(t, nil, "--calls", "20", "--html", filepath.Join(dir, "load.html"))
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
	page, err := os.ReadFile(filepath.Join(dir, "load.html"))
	if err != nil || !strings.Contains(string(page), "<svg") || !strings.Contains(string(page), "<polyline") {
		t.Fatalf("the HTML report has no chart: %v", err)
	}
	if !strings.Contains(stdout, "fwd p99") {
		t.Fatalf("no table on stdout:\n%s", stdout)
	}
}

// TestLoadgenWebRTCSmoke adds to each of 5 calls a pion WebRTC leg in Opus
// (the agent), bridged in the session to the SIP G.711 leg: its markers
// reach the SIP phone, it hears the fixture's speech, nothing is lost.
// Five calls are light enough to run under the race detector too, which
// so watches loadgen's own goroutines (there, a tenth may be lost).
func TestLoadgenWebRTCSmoke(t *testing.T) {
	yml := filepath.Join(t.TempDir(), "voxgate.yaml")
	if err := os.WriteFile(yml, []byte("webrtc:\n  loopback_only: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, report, _ := runLoadgen(t, []string{"--config", yml}, "--calls", "5", "--webrtc", "--dtmf=false")
	// Under the race detector the point is the detector: a gateway slowed
	// several times may drop a frame of real-time audio; without it, none.
	frames, markers := 0, 0
	if raceEnabled {
		frames, markers = s.FramesSent/10, s.MarkersSent/10
	}
	if s.SetupsOK != 5 || s.FramesLost > frames || s.MarkersSent < 5*10 || s.MarkersLost > markers || s.AudioMatch < 0.9 {
		t.Fatalf("%d set up; frames lost %d; markers from the WebRTC legs %d sent, %d lost; audio %.2f\n%s",
			s.SetupsOK, s.FramesLost, s.MarkersSent, s.MarkersLost, s.AudioMatch, report)
	}
	if s.OpusFrames < 5*100 || s.OpusSpeech < 0.3 {
		t.Fatalf("the WebRTC legs heard %d frames, %.0f%% speech\n%s", s.OpusFrames, 100*s.OpusSpeech, report)
	}
}

// TestLoadgenBridgeSmoke runs 5 calls as the Opus↔G.711 target has them:
// the two legs alone, no subscriber, markers both ways timed leg to leg.
// Every marker the phones sent is heard in the WebRTC legs' Opus and every
// one the legs sent at the phones (a tenth may be lost under the race
// detector, as above).
func TestLoadgenBridgeSmoke(t *testing.T) {
	yml := filepath.Join(t.TempDir(), "voxgate.yaml")
	if err := os.WriteFile(yml, []byte("webrtc:\n  loopback_only: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, report, stdout := runLoadgen(t, []string{"--config", yml}, "--calls", "5", "--webrtc", "--bridge", "--dtmf=false")
	frames, markers := 0, 0 // may be lost
	if raceEnabled {
		frames, markers = s.FramesSent/10, s.MarkersSent/10
	}
	if s.SetupsOK != 5 || s.FramesSent < 5*10 || s.FramesLost > frames || s.Forward.Count < s.FramesSent*9/10 {
		t.Fatalf("%d set up; the phones' markers: %d sent, %d lost, %d timed\n%s", s.SetupsOK, s.FramesSent, s.FramesLost, s.Forward.Count, report)
	}
	if s.MarkersSent < 5*10 || s.MarkersLost > markers {
		t.Fatalf("the WebRTC legs' markers: %d sent, %d lost\n%s", s.MarkersSent, s.MarkersLost, report)
	}
	if !strings.Contains(stdout, "bridge: no subscriber") {
		t.Fatalf("the table does not say what fwd is:\n%s", stdout)
	}
}

// runLoadgen starts voxgate serve (with serveArgs) and runs voxgate loadgen
// against it for 3 s with args; it returns the measured step, the printed
// report and the table alone.
func runLoadgen(t *testing.T, serveArgs []string, args ...string) (loadgen.Step, string, string) {
	t.Helper()
	sipAddr := sipAddr(t)
	p := startServe(t, t.TempDir(), append([]string{"--dev-key", "--rate-limit", "100000", "--sip-addr", sipAddr}, serveArgs...)...)
	key := p.devKey(t)
	jsonPath := filepath.Join(t.TempDir(), "report.json")
	var stdout, stderr strings.Builder
	code := loadgenCmd(append([]string{"--url", p.base, "--api-key", key, "--fixture", "../../testdata/rtp/pcmu.pcap",
		"--duration", "3s", "--lost-after", "5s", "--pid", strconv.Itoa(p.cmd.Process.Pid), "--json", jsonPath}, args...),
		func(string) string { return "" }, &stdout, &stderr)
	report := stdout.String() + stderr.String()
	if code != 0 {
		t.Fatalf("loadgen exited %d:\n%s", code, report)
	}
	var rep loadgen.Report
	raw, err := os.ReadFile(jsonPath)
	if err == nil {
		err = json.Unmarshal(raw, &rep)
	}
	if err != nil || len(rep.Steps) != 1 {
		t.Fatalf("report: %v %+v", err, rep.Steps)
	}
	return rep.Steps[0], report, stdout.String()
}
