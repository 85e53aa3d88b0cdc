package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/voxgate/voxgate/sip"
	"github.com/voxgate/voxgate/sip/siptest"
)

// drainCalls is how many SIPp calls are up when SIGTERM arrives.
const drainCalls = 50

// TestDrainUnderLoad: 50 SIPp calls are up when SIGTERM arrives. New INVITEs
// get 503 and /readyz turns false, while every answered call goes on until
// SIPp hangs it up; the process then exits by itself, long before the drain
// timeout, and after a restart every call ended with remote_bye and every
// recording kept the audio that came after SIGTERM.
func TestDrainUnderLoad(t *testing.T) {
	sipp, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatal("sipp is missing: apt-get install sip-tester (make test installs it)")
	}
	dir := t.TempDir()
	yml := filepath.Join(dir, "voxgate.yaml")
	if err := os.WriteFile(yml, []byte("trunks:\n  - {org: dev, name: local, inbound_cidrs: [127.0.0.1/32]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sipAt := sipAddr(t)
	p := startServe(t, dir, "--dev-key", "--config", yml, "--sip-addr", sipAt, "--drain-timeout", "2m", "--max-concurrent-sessions", "100")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	api := restClient{t: t, ctx: ctx, base: p.base, key: p.devKey(t)}

	ids := make([]string, drainCalls)
	for i := range ids {
		ids[i] = api.object("POST", "/v1/sessions", `{"mode":"media_stream","recording":{"enabled":true}}`)["id"].(string)
	}
	inf := filepath.Join(dir, "sessions.csv")
	if err := os.WriteFile(inf, []byte("SEQUENTIAL\n"+strings.Join(ids, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Each call stays up 6 s after its 8 s of speech (a silent pause), so
	// that all 50 are up at once even when a loaded machine answers the
	// last ones seconds after the first.
	xmlPath := sippCallsSessions(t, sipp, dir)
	if xml, err := os.ReadFile(xmlPath); err != nil || !strings.Contains(string(xml), `<pause milliseconds="8000"/>`) {
		t.Fatalf("SIPp's uac_pcap scenario changed: %v", err)
	} else if err := os.WriteFile(xmlPath, []byte(strings.Replace(string(xml), `<pause milliseconds="8000"/>`, `<pause milliseconds="14000"/>`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(sipAt, ":")
	sippCmd := exec.CommandContext(ctx, sipp, "-sf", xmlPath, "-inf", inf, "-m", fmt.Sprint(drainCalls), "-l", fmt.Sprint(drainCalls),
		"-r", "50", "-i", "127.0.0.1", "-p", "0", "-mp", "0", "-nostdin", "-timeout", "90s", "-timeout_error", host+":"+port)
	var sippOut strings.Builder
	sippCmd.Stdout, sippCmd.Stderr = &sippOut, &sippOut
	if err := sippCmd.Start(); err != nil {
		t.Fatal(err)
	}
	sippDone := make(chan error, 1)
	go func() { sippDone <- sippCmd.Wait() }()

	// Every call answered: then SIGTERM.
	for answered := 0; answered < drainCalls; {
		select {
		case err := <-sippDone:
			t.Fatalf("sipp ended before the drain: %v\n%s", err, sippOut.String())
		case <-time.After(100 * time.Millisecond):
		}
		calls := api.object("GET", "/v1/calls?status=answered&limit=100", "")["data"].([]any)
		answered = len(calls)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	termAt := time.Now()
	// Draining: /readyz says so, and a new call is refused with 503.
	for {
		if c, _ := api.call("GET", "/readyz", ""); c == 503 {
			break
		}
		if time.Since(termAt) > 10*time.Second {
			t.Fatal("/readyz still ready 10 s after SIGTERM")
		}
		time.Sleep(10 * time.Millisecond)
	}
	phone := siptest.NewPhone(t, 0, 8000)
	if code := phone.Call(ctx, netip.MustParseAddrPort(sipAt), ids[0], phone.Offer(sip.Supported[0])); code != 503 {
		t.Fatalf("an INVITE while draining answered %d", code)
	}
	if err := <-sippDone; err != nil {
		t.Fatalf("sipp: %v (a call was cut)\n%s", err, sippOut.String())
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("exit after the drain: %v\n%s", err, p.stdout)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("still running 30 s after the last call ended")
	}
	t.Logf("drained %d calls in %s", drainCalls, time.Since(termAt).Round(100*time.Millisecond))

	// After a restart: every call ended by its caller, every recording whole.
	q := startServe(t, dir, "--config", yml)
	api.base = q.base
	for _, c := range api.object("GET", "/v1/calls?limit=100", "")["data"].([]any) {
		call := c.(map[string]any)
		if call["status"] != "ended" || call["hangup_cause"] != "remote_bye" {
			t.Fatalf("call after the drain: %v", call)
		}
	}
	// The recordings hold the callers' 7 s of speech: all that came after
	// SIGTERM (at least 1 s of it; SIGTERM comes 2-5 s into the calls).
	for _, sid := range ids {
		call := api.object("GET", "/v1/sessions/"+sid+"/calls", "")["data"].([]any)[0].(map[string]any)
		answered, _ := time.Parse(time.RFC3339Nano, call["answered_at"].(string))
		for _, r := range api.object("GET", "/v1/sessions/"+sid+"/recordings", "")["data"].([]any) {
			rec := r.(map[string]any)
			d, _ := rec["duration"].(float64)
			if rec["status"] != "ready" || d < min(termAt.Sub(answered).Seconds()+1, 5.5) {
				t.Fatalf("recording of %s after the drain (SIGTERM %.1f s into the call): %v", sid, termAt.Sub(answered).Seconds(), rec)
			}
		}
	}
}
