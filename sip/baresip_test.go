package sip_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/voxgate/voxgate/media/mediatest"
	"github.com/voxgate/voxgate/session"
)

// baresipConfig is a headless baresip on loopback: a WAV as microphone, the
// ALSA null device as speaker, what it hears recorded by sndfile.
const baresipConfig = `module_path		/usr/lib/baresip/modules
net_interface		127.0.0.1
sip_listen		127.0.0.1:%d
rtp_ports		30100-30199
audio_path		/usr/share/baresip
audio_source		aufile,%s
audio_player		alsa,null
audio_alert		alsa,null
ausrc_srate		8000
ausrc_channels		1
snd_path		%s
statmode_default	off
module			g711.so
module			aufile.so
module			alsa.so
module			sndfile.so
module_tmp		account.so
module_app		menu.so
`

// freeUDPPort returns a loopback UDP port that was free a moment ago.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// TestBaresipCallsIn has a real baresip call sip:sess_…: its 440 Hz WAV
// reaches a session subscriber as the customer, the subscriber's 1 kHz as
// the agent reaches baresip's recording, and baresip's BYE at the end of
// its run ends the session.
func TestBaresipCallsIn(t *testing.T) {
	bin, err := exec.LookPath("baresip")
	if err != nil {
		t.Fatal("baresip is missing: apt-get install baresip-core (make test installs it)")
	}
	f := newFixture(t, "127.0.0.1/32")
	s, err := f.m.Create(f.ctx, f.sc, session.CreateParams{Mode: "media_stream"})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := f.m.Subscribe(f.ctx, s.ID, session.SubscribeOptions{AudioQueue: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	dir := t.TempDir()
	wav, rec := filepath.Join(dir, "caller-440.wav"), filepath.Join(dir, "rec")
	w, err := os.Create(wav)
	if err != nil {
		t.Fatal(err)
	}
	if err := mediatest.WriteWAV(w, 8000, mediatest.Tone(8000, 440, -6, 20*8000)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	port := freeUDPPort(t)
	if err := os.Mkdir(rec, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config"), fmt.Appendf(nil, baresipConfig, port, wav, rec), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "accounts"), fmt.Appendf(nil, "<sip:alice@127.0.0.1:%d>;regint=0\n", port), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(f.ctx, 30*time.Second)
	defer cancel()
	target := fmt.Sprintf("sip:%s@%s", s.ID, f.srv.Addr())
	cmd := exec.CommandContext(ctx, bin, "-f", dir, "-e", "/dial "+target, "-t", "7")
	logPath := filepath.Join(dir, "baresip.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	fail := func(format string, args ...any) {
		t.Helper()
		out, _ := os.ReadFile(logPath)
		t.Fatalf(format+"\nbaresip log:\n%s", append(args, lastLines(out, 30))...)
	}

	// The subscriber hears baresip's tone as the customer.
	var heard []int16
	var fr session.AudioFrame
	deadline := time.After(15 * time.Second)
	for len(heard) < 2*session.Rate {
		for sub.NextAudio(&fr) {
			if fr.Speaker == session.SpeakerCustomer {
				heard = append(heard, fr.Samples...)
			}
		}
		select {
		case <-sub.AudioReady():
		case <-deadline:
			fail("the subscriber heard %d samples from baresip", len(heard))
		}
	}
	if lvl := mediatest.Level(heard[len(heard)-session.Rate:], session.Rate, 440); lvl < -14 {
		fail("the subscriber hears 440 Hz at %.1f dBFS (peak %.0f Hz)", lvl, mediatest.PeakFrequency(heard, session.Rate))
	}
	// The agent side speaks 1 kHz until baresip hangs up.
	for range 3 {
		if err := sub.Input(session.SpeakerAgent, mediatest.Tone(session.Rate, 1000, -10, session.Rate)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(900 * time.Millisecond)
	}
	if ev := next(t, sub, session.EventSessionEnded); ev.Reason != session.EndCallsEnded {
		fail("session ended with %s", ev.Reason)
	}
	select {
	case err := <-exited:
		if err != nil {
			fail("baresip: %v", err)
		}
	case <-ctx.Done():
		fail("baresip did not exit")
	}

	// baresip's recording of what it heard holds the agent's tone.
	decs, _ := filepath.Glob(filepath.Join(rec, "*-dec.wav"))
	if len(decs) != 1 {
		fail("recordings: %v", decs)
	}
	r, err := os.Open(decs[0])
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rate, got, err := mediatest.ReadWAV(r)
	if err != nil {
		t.Fatal(err)
	}
	at, ok := mediatest.FindTone(got, rate, 1000, -20)
	if !ok || len(got)-at < rate {
		fail("no second of 1 kHz in baresip's recording (%d samples at %d Hz, peak %.0f Hz)", len(got), rate, mediatest.PeakFrequency(got, rate))
	}
	if lvl := mediatest.Level(got[at+rate/10:at+rate], rate, 1000); lvl < -16 {
		fail("baresip heard 1 kHz at %.1f dBFS", lvl)
	}
}
