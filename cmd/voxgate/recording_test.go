package main

import (
	"bytes"
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/voxgate/voxgate/media/mediatest"
)

// A gateway killed with SIGKILL during a recorded call leaves a recording
// that, after the restart, is ready, plays, and lacks at most a second.
func TestRecordingSurvivesSIGKILL(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := startServe(t, dir, "--dev-key")
	key := p.devKey(t)
	api := restClient{t: t, ctx: ctx, base: p.base, key: key}
	sid := api.object("POST", "/v1/sessions", `{"mode":"media_stream","recording":{"enabled":true}}`)["id"].(string)

	// The customer says 10 s of 440 Hz through the stream command.
	wavPath := filepath.Join(dir, "tone.wav")
	var wav bytes.Buffer
	if err := mediatest.WriteWAV(&wav, 16000, mediatest.Tone(16000, 440, -10, 16000*10)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(wavPath, wav.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	client := voxgate(ctx, "stream", sid, "--url", p.base, "--api-key", key, "--play", wavPath, "--speaker", "customer", "--audio", "none")
	if err := client.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.Process.Kill(); _ = client.Wait() }()

	// Once 3 s are on disk, kill the gateway.
	files, deadline := []string(nil), time.Now().Add(30*time.Second)
	for {
		files, _ = filepath.Glob(filepath.Join(dir, "recordings", sid, "rec_*.wav"))
		if len(files) == 1 {
			if st, err := os.Stat(files[0]); err == nil && st.Size() > 44+3*16000*2 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recording grew in %s: %v", dir, files)
		}
		time.Sleep(20 * time.Millisecond)
	}
	started, err := time.Parse(time.RFC3339Nano, api.object("GET", "/v1/sessions/"+sid, "")["started_at"].(string))
	if err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.done
	spoken := killed.Sub(started).Seconds()

	q := startServe(t, dir)
	api.base = q.base
	list := api.object("GET", "/v1/sessions/"+sid+"/recordings", "")["data"].([]any)
	if len(list) != 1 {
		t.Fatalf("recordings %v", list)
	}
	rec := list[0].(map[string]any)
	if rec["status"] != "ready" {
		t.Fatalf("recording after the restart: %v", rec)
	}
	code, body := api.call("GET", "/v1/recordings/"+rec["id"].(string)+"/audio", "")
	if code != 200 {
		t.Fatalf("audio: %d %s", code, body)
	}
	dl := filepath.Join(t.TempDir(), "rec.wav")
	if err := os.WriteFile(dl, body, 0o600); err != nil {
		t.Fatal(err)
	}
	soxi, err := exec.Command("soxi", "-D", dl).Output() // any player opens it
	if err != nil {
		t.Fatalf("soxi: %v (apt-get install sox)", err)
	}
	played, _ := strconv.ParseFloat(strings.TrimSpace(string(soxi)), 64)
	if lost := spoken - played; lost > 1.0 || played > spoken+0.2 {
		t.Fatalf("recorded %.2f s of %.2f s spoken before the kill", played, spoken)
	}
	rate, pcm, err := mediatest.ReadWAV(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	// The recording starts when the session does; the client's tone a moment
	// later (later still on a loaded machine): check a second of it.
	start := 0
	for start < len(pcm) && max(pcm[start], -pcm[start]) < 3000 {
		start++
	}
	if start+rate+rate/2 > len(pcm) {
		t.Fatalf("the tone starts %.2f s into %.2f s of recording", float64(start)/float64(rate), float64(len(pcm))/float64(rate))
	}
	// A second of it, clean. A frame the clock dropped for a client that fell
	// behind (a loaded machine) is a click that spoils the second it lands
	// in, so the first clean second of three, half a second apart, counts.
	clean, seen := false, []mediatest.Measurement(nil)
	for w := start + rate/2; !clean && w+rate <= len(pcm) && w <= start+3*rate/2; w += rate / 2 {
		m := mediatest.Measure(pcm[w:w+rate], rate, 440)
		clean = math.Abs(m.Peak-440) <= 4.4 && math.Abs(m.Level+10) <= 1 && m.SNR >= 30
		seen = append(seen, m)
	}
	if !clean {
		t.Fatalf("no clean second of the tone in the recording: %+v", seen)
	}
	t.Logf("recorded %.2f s of %.2f s spoken before SIGKILL", played, spoken)
}
