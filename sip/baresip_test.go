package sip_test

import (
	"crypto/tls"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/voxgate/voxgate/media/mediatest"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/session/sessiontest"
	"github.com/voxgate/voxgate/sip"
	"github.com/voxgate/voxgate/sip/siptest"
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
module			srtp.so
module_tmp		account.so
module_app		menu.so
`

// baresipPeer is a baresip process on loopback that plays a tone and
// records what it hears.
type baresipPeer struct {
	port    int
	rec     string
	logPath string
	cmd     *exec.Cmd
	exited  chan error
}

// startBaresip runs baresip playing a tone of freq Hz, with one account
// (a format with %d for its SIP port) and extra arguments.
func startBaresip(t *testing.T, freq float64, account string, args ...string) *baresipPeer {
	return startBaresipWith(t, freq, account, "", args...)
}

// startBaresipWith is startBaresip with more configuration lines.
func startBaresipWith(t *testing.T, freq float64, account, config string, args ...string) *baresipPeer {
	t.Helper()
	bin, err := exec.LookPath("baresip")
	if err != nil {
		t.Fatal("baresip is missing: apt-get install baresip-core (make test installs it)")
	}
	dir := t.TempDir()
	b := &baresipPeer{port: freeUDPPort(t), rec: filepath.Join(dir, "rec"), logPath: filepath.Join(dir, "baresip.log"), exited: make(chan error, 1)}
	wav := filepath.Join(dir, "tone.wav")
	w, err := os.Create(wav)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := mediatest.WriteWAV(w, 8000, mediatest.Tone(8000, freq, -6, 30*8000)); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(b.rec, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config"), append(fmt.Appendf(nil, baresipConfig, b.port, wav, b.rec), config...), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "accounts"), fmt.Appendf(nil, account+"\n", b.port), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(b.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	b.cmd = exec.Command(bin, append([]string{"-f", dir}, args...)...)
	b.cmd.Stdout, b.cmd.Stderr = logFile, logFile
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { b.exited <- b.cmd.Wait() }()
	t.Cleanup(func() {
		if b.cmd.ProcessState == nil {
			_ = b.cmd.Process.Kill()
			<-b.exited
		}
	})
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(b.log(), "baresip is ready"); {
		select {
		case err := <-b.exited:
			b.exited <- err
			return b // a -t run may be done already; wait reports it
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.fatal(t, "baresip did not start")
		}
	}
	return b
}

// log is what baresip printed so far.
func (b *baresipPeer) log() string {
	out, _ := os.ReadFile(b.logPath)
	return string(out)
}

// fatal fails the test with baresip's last log lines.
func (b *baresipPeer) fatal(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Fatalf(format+"\nbaresip log:\n%s", append(args, lastLines([]byte(b.log()), 30))...)
}

// wait waits for baresip to exit (after -t, or asked to with SIGTERM,
// which hangs up its calls first).
func (b *baresipPeer) wait(t *testing.T, terminate bool) {
	t.Helper()
	if terminate {
		_ = b.cmd.Process.Signal(syscall.SIGTERM)
	}
	select {
	case err := <-b.exited:
		b.exited <- err
		if err != nil {
			b.fatal(t, "baresip: %v", err)
		}
	case <-time.After(15 * time.Second):
		b.fatal(t, "baresip did not exit")
	}
}

// heard checks that baresip's recording of its call holds a second of a
// tone of freq Hz.
func (b *baresipPeer) heard(t *testing.T, freq float64) {
	t.Helper()
	decs, _ := filepath.Glob(filepath.Join(b.rec, "*-dec.wav"))
	if len(decs) != 1 {
		b.fatal(t, "recordings: %v", decs)
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
	at, ok := mediatest.FindTone(got, rate, freq, -20)
	if !ok || len(got)-at < rate {
		b.fatal(t, "no second of %.0f Hz in baresip's recording (%d samples at %d Hz, peak %.0f Hz)", freq, len(got), rate, mediatest.PeakFrequency(got, rate))
	}
	if lvl := mediatest.Level(got[at+rate/10:at+rate], rate, freq); lvl < -16 {
		b.fatal(t, "baresip heard %.0f Hz at %.1f dBFS", freq, lvl)
	}
}

// hear reads a subscriber's audio from speaker until it holds d of it and
// checks that its last half second is a tone of freq Hz.
func hear(t *testing.T, sub *session.Subscription, speaker session.Speaker, freq float64, d time.Duration, fatal func(string, ...any)) {
	t.Helper()
	var heard []int16
	var fr session.AudioFrame
	deadline := time.After(15 * time.Second)
	for len(heard) < int(d.Seconds()*session.Rate) {
		for sub.NextAudio(&fr) {
			if fr.Speaker == speaker {
				heard = append(heard, fr.Samples...)
			}
		}
		select {
		case <-sub.AudioReady():
		case <-deadline:
			fatal("the subscriber heard %d samples from %s", len(heard), speaker)
		}
	}
	if lvl := mediatest.Level(heard[len(heard)-session.Rate/2:], session.Rate, freq); lvl < -14 {
		fatal("the subscriber hears %.0f Hz at %.1f dBFS (peak %.0f Hz)", freq, lvl, mediatest.PeakFrequency(heard, session.Rate))
	}
}

// speak has the agent side say a tone of freq Hz for about d.
func speak(t *testing.T, sub *session.Subscription, freq float64, d time.Duration) {
	t.Helper()
	for range int(d / time.Second) {
		if err := sub.Input(session.SpeakerAgent, mediatest.Tone(session.Rate, freq, -10, session.Rate)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(900 * time.Millisecond)
	}
}

// freeUDPPort returns a loopback port that was free a moment ago for UDP and
// TCP, with the next one free for TCP too (baresip's TLS listens there). It
// is below the kernel's ephemeral range (32768-60999), so other programs'
// outgoing connections do not take it meanwhile.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	for range 200 {
		port := 20000 + rand.IntN(12000)
		if portsFree(port) {
			return port
		}
	}
	t.Fatal("no free port pair below 32000")
	return 0
}

// udpBound waits up to wait for some process on this machine to hold UDP
// port. It reads /proc/net/udp rather than trying to bind the port itself,
// which would race the process for it and could make its own bind fail.
func udpBound(port int, wait time.Duration) bool {
	suffix := fmt.Sprintf(":%04X", port)
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, table := range []string{"/proc/net/udp", "/proc/net/udp6"} {
			b, _ := os.ReadFile(table)
			for _, line := range strings.Split(string(b), "\n")[1:] {
				if f := strings.Fields(line); len(f) > 1 && strings.HasSuffix(f[1], suffix) {
					return true
				}
			}
		}
	}
	return false
}

func portsFree(port int) bool {
	u, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	defer u.Close()
	for _, p := range []int{port, port + 1} {
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			return false
		}
		defer l.Close()
	}
	return true
}

// TestBaresipCallsIn has a real baresip call sip:sess_…: its 440 Hz WAV
// reaches a session subscriber as the customer, the subscriber's 1 kHz as
// the agent reaches baresip's recording, and baresip's BYE at the end of
// its run ends the session. Then again with SRTP required on both sides
// (baresip's mediaenc=srtp-mand, the trunk's srtp: require, which refuses
// plain RTP): the tones cross only if both decrypt what the other sends.
func TestBaresipCallsIn(t *testing.T) {
	cert, certPEM, _ := siptest.SelfSigned(t, 5)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, srtp, account string
		tls                 bool
	}{
		{"rtp", "disable", "<sip:alice@127.0.0.1:%d>;regint=0", false},
		{"srtp", "require", "<sip:alice@127.0.0.1:%d>;regint=0;mediaenc=srtp-mand", false},
		{"tls+srtp", "require", "<sip:alice@127.0.0.1:%d;transport=tls>;regint=0;mediaenc=srtp-mand", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cfg sip.Config
			if tc.tls {
				cfg = sip.Config{TLSAddr: "127.0.0.1:0", TLS: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
			}
			f := newFixtureConfig(t, session.TrunkParams{InboundCIDRs: &[]string{"127.0.0.1/32"}, SRTP: &tc.srtp}, cfg)
			s, err := f.m.Create(f.ctx, f.sc, session.CreateParams{Mode: "media_stream"})
			if err != nil {
				t.Fatal(err)
			}
			sub, err := f.m.Subscribe(f.ctx, s.ID, session.SubscribeOptions{AudioQueue: 1000})
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			target := fmt.Sprintf("sip:%s@%s", s.ID, f.srv.Addr())
			if tc.tls {
				target = fmt.Sprintf("sip:%s@%s;transport=tls", s.ID, f.srv.TLSAddr())
			}
			b := startBaresipWith(t, 440, tc.account, "sip_cafile\t\t"+caFile+"\n", "-e", "/dial "+target, "-t", "7")
			fatal := func(format string, args ...any) { t.Helper(); b.fatal(t, format, args...) }
			hear(t, sub, session.SpeakerCustomer, 440, 2*time.Second, fatal)
			speak(t, sub, 1000, 3*time.Second)
			if ev := sessiontest.Next(t, sub, session.EventSessionEnded); ev.Reason != session.EndCallsEnded {
				fatal("session ended with %s", ev.Reason)
			}
			b.wait(t, false)
			b.heard(t, 1000)
		})
	}
}
