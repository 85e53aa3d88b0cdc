package sip_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/session/sessiontest"
)

// TestSIPpHoldAndResume has SIPp call in, hold (sendonly, then inactive)
// and resume with re-INVITEs; its scenario (testdata/sipp/uac_hold.xml)
// fails unless each answer carries the mirrored direction. Its BYE ends
// the session.
func TestSIPpHoldAndResume(t *testing.T) {
	sipp, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatal("sipp is missing: apt-get install sip-tester (make test installs it)")
	}
	f := newFixture(t, "127.0.0.1/32")
	s, err := f.m.Create(f.ctx, f.sc, session.CreateParams{Mode: "media_stream"})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := f.m.Subscribe(f.ctx, s.ID, session.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	xml, err := filepath.Abs(filepath.Join("testdata", "sipp", "uac_hold.xml"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(f.ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sipp, "-sf", xml, "-s", s.ID, "-m", "1", "-i", "127.0.0.1", "-p", "0", "-mp", "0",
		"-nostdin", "-timeout", "20s", "-timeout_error", f.srv.Addr().String())
	cmd.Dir = t.TempDir()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sipp: %v\n%s", err, lastLines(out, 30))
	}
	if ev := sessiontest.Next(t, sub, session.EventSessionEnded); ev.Reason != session.EndCallsEnded {
		t.Fatalf("session ended with %s", ev.Reason)
	}
}
