package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/voxgate/voxgate/media/mediatest"
	"github.com/voxgate/voxgate/stream"
)

// TestStreamCommandPlaysAWAV runs `voxgate stream --play` against a live
// gateway while another client listens: the WAV's tone arrives as the agent,
// and the command exits 0 when the session ends.
func TestStreamCommandPlaysAWAV(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, err := voxgate(ctx, "keys", "create", "--org", "cli", "--scopes", "all", "--data-dir", dir).Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	key := lines[len(lines)-1]
	p := startServe(t, dir)

	call := func(method, path string) map[string]any {
		req, _ := http.NewRequestWithContext(ctx, method, p.base+path, strings.NewReader(`{"mode":"media_stream"}`))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(res.Body).Decode(&m)
		return m
	}
	s := call("POST", "/v1/sessions")
	sid, token := s["id"].(string), s["stream"].(map[string]any)["token"].(string)

	wavPath := filepath.Join(dir, "tone.wav")
	var wav bytes.Buffer
	if err := mediatest.WriteWAV(&wav, 16000, mediatest.Tone(16000, 800, -10, 16000*2)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(wavPath, wav.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	u, _ := stream.ConnectURL(p.base, sid, token, url.Values{"audio": {"pcm16_16000"}})
	listener, err := stream.Dial(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()

	cmd := voxgate(ctx, "stream", sid, "--url", p.base, "--api-key", key, "--play", wavPath, "--speaker", "agent", "--quiet-audio")
	var cliErr bytes.Buffer
	cmd.Stderr = &cliErr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	output := make(chan string, 1024) // the command's output, closed at its end
	go func() {
		defer close(output)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			output <- sc.Text()
		}
	}()
	var got []string
	// waitLine collects output until a line contains want (false at the end).
	waitLine := func(want string) bool {
		for line := range output {
			got = append(got, line)
			if strings.Contains(line, want) {
				return true
			}
		}
		return false
	}
	var heard []int16
	for len(heard) < 16000 {
		raw, err := listener.Read()
		if err != nil {
			t.Fatalf("listener: %v (heard %d samples)", err, len(heard))
		}
		var m struct {
			Type, Speaker string
			Audio         struct{ Payload string }
		}
		if json.Unmarshal(raw, &m) != nil || m.Type != "audio.output" || m.Speaker != "agent" {
			continue
		}
		b, _ := base64.StdEncoding.DecodeString(m.Audio.Payload)
		for i := 0; i+1 < len(b); i += 2 {
			heard = append(heard, int16(binary.LittleEndian.Uint16(b[i:])))
		}
	}
	mediatest.CheckTone(t, heard[4000:], 16000, mediatest.ToneWant{Freq: 800, Level: -10, MinSNR: 40})
	// The mark sent after the WAV comes back once all of it was played.
	if !waitLine(`{"name":"played","type":"mark"}`) {
		t.Fatalf("no mark echo:\n%s", strings.Join(got, "\n"))
	}
	call("POST", "/v1/sessions/"+sid+"/end")
	for line := range output {
		got = append(got, line)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("voxgate stream: %v\n%s\n%s", err, strings.Join(got, "\n"), cliErr.String())
	}
	text := strings.Join(got, "\n")
	for _, want := range []string{`"type":"session.ready"`, `"type":"session.ended"`, "closed 1000"} {
		if !strings.Contains(text, want) {
			t.Fatalf("output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "audio.output") {
		t.Fatal("--quiet-audio printed audio")
	}
}

// TestStreamCommandUsage: what is wrong with the arguments is said before
// anything connects, with exit status 2.
func TestStreamCommandUsage(t *testing.T) {
	wav := filepath.Join(t.TempDir(), "bad.wav")
	if err := os.WriteFile(wav, []byte("RIFF\x00\x00\x00\x00WAVE"), 0o644); err != nil {
		t.Fatal(err)
	}
	noEnv := func(string) string { return "" }
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "usage"},
		{[]string{"sess_x"}, "--token"},
		{[]string{"sess_x", "--token", "kst_x", "--play", wav, "--speaker", "bob"}, "customer or agent"},
		{[]string{"sess_x", "--token", "kst_x", "--play", wav}, "no audio data"},
		{[]string{"sess_x", "--token", "kst_x", "--url", "ftp://h"}, "want http"},
	} {
		var stdout, stderr bytes.Buffer
		if code := streamCmd(tc.args, noEnv, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%q: exit %d, %q (want 2 and %q)", tc.args, code, stderr.String(), tc.want)
		}
	}
}
