package sip_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/voxgate/voxgate/session"
)

// startKamailio runs kamailio (testdata/kamailio/kamailio.cfg: digest
// challenge as alice/s3cret, then relay to downstream) on a free port.
func startKamailio(t *testing.T, downstream int) (port int) {
	t.Helper()
	bin, err := exec.LookPath("kamailio")
	if err != nil {
		t.Fatal("kamailio is missing: apt-get install kamailio")
	}
	tmpl, err := os.ReadFile(filepath.Join("testdata", "kamailio", "kamailio.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	port = freeUDPPort(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "kamailio.cfg")
	if err := os.WriteFile(cfg, []byte(strings.ReplaceAll(string(tmpl), "127.0.0.1:5070", "127.0.0.1:"+strconv.Itoa(port))), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "kamailio.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "-f", cfg, "-DD", "-E", "-m", "64", "-M", "8", "-Y", dir,
		"-A", fmt.Sprintf(`DOWNSTREAM="127.0.0.1:%d"`, downstream))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	if udpBound(port, 5*time.Second) { // ready once it holds its port
		return port
	}
	out, _ := os.ReadFile(logPath)
	t.Fatalf("kamailio did not start:\n%s", lastLines(out, 30))
	return 0
}

// TestDialThroughKamailio dials a number through a trunk whose carrier is
// kamailio: it challenges the INVITE (407) and the trunk's credentials
// answer it; kamailio relays to a baresip that answers (number_format
// national: the Request-URI user has no '+'). baresip's 1 kHz reaches the
// session as the customer, the agent's 440 Hz reaches baresip's
// recording, the agent's RFC 4733 digits reach baresip once each, and the
// hangup's BYE follows kamailio's Record-Route.
func TestDialThroughKamailio(t *testing.T) {
	b := startBaresip(t, 1000, "<sip:15551234567@127.0.0.1:%d>;regint=0;answermode=auto")
	kam := startKamailio(t, b.port)
	user, pass, host, national, udp := "alice", "s3cret", "127.0.0.1", "national", "udp"
	f := newFixtureTrunk(t, session.TrunkParams{InboundCIDRs: &[]string{"127.0.0.1/32"}, Username: &user, Password: &pass,
		OutboundHost: &host, OutboundPort: &kam, Transport: &udp, NumberFormat: &national})
	trunks, err := f.m.AllTrunks(f.ctx)
	if err != nil || len(trunks) != 1 {
		t.Fatalf("trunks: %v %v", trunks, err)
	}
	s, err := f.m.Create(f.ctx, f.sc, session.CreateParams{Mode: "media_stream"})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := f.m.Subscribe(f.ctx, s.ID, session.SubscribeOptions{AudioQueue: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	f.m.SetDialer(f.srv)
	call, err := f.m.Dial(f.ctx, f.sc, s.ID, session.DialParams{To: "+15551234567", TrunkID: trunks[0].ID})
	if err != nil {
		b.fatal(t, "dial: %v", err)
	}
	if got := f.waitCall(call.ID, session.CallAnswered); got.Codec != "PCMU" {
		b.fatal(t, "call %+v", got)
	}
	fatal := func(format string, args ...any) { t.Helper(); b.fatal(t, format, args...) }
	hear(t, sub, session.SpeakerCustomer, 1000, time.Second, fatal)
	speak(t, sub, 440, 3*time.Second)
	if err := sub.SendDTMF("42", call.ID); err != nil {
		t.Fatal(err)
	}
	// baresip logs each RFC 4733 event it receives, once with end=1.
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(b.log(), "received event: '2' (end=1)"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			fatal("baresip did not receive the digits")
		}
	}
	if log := b.log(); strings.Count(log, "(end=1)") != 2 || !strings.Contains(log, "received event: '4' (end=1)") {
		fatal("baresip received other digits than 4 and 2 once each")
	}
	if _, err := f.m.Hangup(f.ctx, f.sc, s.ID, call.ID); err != nil {
		t.Fatal(err)
	}
	f.waitCall(call.ID, session.CallEnded)
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(b.log(), "session closed"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			fatal("baresip did not see the BYE")
		}
	}
	b.wait(t, true)
	b.heard(t, 440)
}
