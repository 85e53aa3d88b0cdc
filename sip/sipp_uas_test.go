package sip_test

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/voxgate/voxgate/media/mediatest"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/session/sessiontest"
	"github.com/voxgate/voxgate/store"
)

// sippCallee runs SIPp as the callee of one call with a scenario from
// testdata/sipp, its {{key}} placeholders filled in from vars; wait returns
// once SIPp has played it to the end.
func sippCallee(t *testing.T, scenario string, vars map[string]string, args ...string) (addr netip.AddrPort, wait func()) {
	t.Helper()
	sipp, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatal("sipp is missing: apt-get install sip-tester (make test installs it)")
	}
	text, err := os.ReadFile(filepath.Join("testdata", "sipp", scenario))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range vars {
		text = bytes.ReplaceAll(text, []byte("{{"+k+"}}"), []byte(v))
	}
	dir := t.TempDir()
	xml := filepath.Join(dir, scenario)
	if err := os.WriteFile(xml, text, 0o600); err != nil {
		t.Fatal(err)
	}
	port := freeUDPPort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	args = append([]string{"-sf", xml, "-i", "127.0.0.1", "-p", strconv.Itoa(port),
		"-mp", strconv.Itoa(freeUDPPort(t)), "-m", "1", "-nostdin", "-timeout", "20s", "-timeout_error"}, args...)
	cmd := exec.CommandContext(ctx, sipp, args...)
	cmd.Dir = dir
	logPath := filepath.Join(dir, "sipp.log")
	log, err := os.Create(logPath)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cancel(); <-exited })
	if !udpBound(port, 10*time.Second) { // SIPp is ready once it holds its port
		out, _ := os.ReadFile(logPath)
		t.Fatalf("sipp %s did not start\n%s", scenario, lastLines(out, 30))
	}
	return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)), func() {
		t.Helper()
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			if err != nil {
				out, _ := os.ReadFile(logPath)
				t.Fatalf("sipp %s: %v\n%s", scenario, err, lastLines(out, 30))
			}
		case <-time.After(25 * time.Second):
			out, _ := os.ReadFile(logPath)
			t.Fatalf("sipp %s did not finish\n%s", scenario, lastLines(out, 30))
		}
	}
}

// TestSIPpAnswersDials dials SIPp (Debian's sip-tester) as the callee: one
// that answers and echoes our audio back until our BYE, ones that refuse
// with 486 (busy) and 408 (no_answer), and one that rings until the dial
// times out (CANCEL, 487).
func TestSIPpAnswersDials(t *testing.T) {
	f := newFixture(t, "127.0.0.1/32")
	// SIPp answers.
	{
		addr, wait := sippCallee(t, "uas_answer.xml", nil, "-rtp_echo")
		call, sid, err := f.dial(addr, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		sub, err := f.m.Subscribe(f.ctx, sid, session.SubscribeOptions{AudioQueue: 1000})
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		if got := f.waitCall(call.ID, session.CallAnswered); got.Codec != "PCMU" {
			t.Fatalf("call %+v", got)
		}
		// What the agent says comes back from SIPp's echo as the customer.
		if err := sub.Input(session.SpeakerAgent, mediatest.Tone(session.Rate, 1000, -10, session.Rate)); err != nil {
			t.Fatal(err)
		}
		heard := sessiontest.Hear(t, sub, session.SpeakerCustomer, session.Rate/2)
		if lvl := mediatest.Level(heard[len(heard)-session.Rate/4:], session.Rate, 1000); lvl < -16 {
			t.Fatalf("the echo is at %.1f dBFS (peak %.0f Hz)", lvl, mediatest.PeakFrequency(heard, session.Rate))
		}
		if _, err := f.m.Hangup(f.ctx, f.sc, sid, call.ID); err != nil {
			t.Fatal(err)
		}
		wait()
		if got := f.waitCall(call.ID, session.CallEnded); got.HangupCause != "api_hangup" {
			t.Fatalf("cause %q", got.HangupCause)
		}
	}
	// SIPp refuses: busy, or a timeout of its own (no_answer).
	for _, tc := range []struct {
		status, reason string
		want           session.CallStatus
	}{{"486", "Busy Here", session.CallBusy}, {"408", "Request Timeout", session.CallNoAnswer}} {
		addr, wait := sippCallee(t, "uas_refuse.xml", map[string]string{"status": tc.status, "reason": tc.reason})
		_, sid, err := f.dial(addr, 10*time.Second)
		var de *session.DialError
		if !errors.As(err, &de) || strconv.Itoa(de.SIPStatus) != tc.status {
			t.Fatalf("%s: %v", tc.status, err)
		}
		wait()
		calls, _, _ := f.m.ListCalls(f.ctx, f.sc, store.ListQuery{Limit: 1, SessionID: sid})
		if len(calls) != 1 || calls[0].Status != tc.want || calls[0].SIPStatus == nil || strconv.Itoa(*calls[0].SIPStatus) != tc.status {
			t.Fatalf("%s: calls %+v", tc.status, calls)
		}
	}
	// SIPp rings until the dial times out.
	{
		addr, wait := sippCallee(t, "uas_noanswer.xml", nil)
		// Longer than Dial's wait for an immediate refusal (2 s).
		call, _, err := f.dial(addr, 3*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		wait() // SIPp saw the CANCEL and our ACK of its 487
		if got := f.waitCall(call.ID, session.CallNoAnswer); got.HangupCause != "timeout" {
			t.Fatalf("no answer: %+v", got)
		}
	}
}
