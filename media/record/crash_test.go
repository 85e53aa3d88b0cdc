package record

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/voxgate/voxgate/media"
	"github.com/voxgate/voxgate/media/mediatest"
)

// crashEnv, when set to a directory, makes TestCrash the child that records.
const crashEnv = "VOXGATE_RECORD_CRASH_DIR"

// TestCrash records a call in a child process, kills it with SIGKILL and
// checks that the repaired files hold all the audio fed but at most a
// second, and that the file opened before repair is already playable.
func TestCrash(t *testing.T) {
	if dir := os.Getenv(crashEnv); dir != "" {
		crashChild(dir)
		return
	}
	const rate = 16000
	const killAfter = 125 // frames: 2.5 s
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrash$")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(20*time.Second, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	fed, killed := 0, false
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		n, err := strconv.Atoi(lines.Text())
		if err != nil {
			continue // the test framework's own output
		}
		fed = n
		if n >= killAfter && !killed {
			if err := cmd.Process.Kill(); err != nil { // SIGKILL
				t.Fatal(err)
			}
			killed = true
		}
	}
	_ = cmd.Wait()
	if !killed {
		t.Fatalf("the child stopped after %d frames without being killed", fed)
	}
	// The child may have fed one more frame than it reported.
	want := time.Duration(fed) * media.FrameDuration

	for _, name := range []string{"mixed.wav", "dual.wav"} {
		path := filepath.Join(dir, name)
		before, err := Stat(path)
		if err != nil {
			t.Fatalf("%s as the crash left it: %v", name, err)
		}
		if got := before.Duration(); got < want-1500*time.Millisecond || got > want+media.FrameDuration { // 1 s, and slack for a loaded machine
			t.Errorf("%s before repair declares %v, fed %v", name, got, want)
		}
		info, err := Repair(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Duration(); got < want-time.Second || got > want+media.FrameDuration {
			t.Errorf("%s repaired to %v, fed %v", name, got, want)
		}
		t.Logf("%s: fed %v, header said %v, repaired to %v", name, want, before.Duration(), info.Duration())
		_, chans := readPCM(t, path)
		tail := chans[0][len(chans[0])-rate/2:]
		if name == "dual.wav" {
			mediatest.CheckTone(t, tail, rate, mediatest.ToneWant{Freq: 440, Level: -10, MinSNR: 40})
			mediatest.CheckTone(t, chans[1][len(chans[1])-rate/2:], rate, mediatest.ToneWant{Freq: 1000, Level: -10, MinSNR: 40})
		} else if l := mediatest.Level(tail, rate, 440); l < -11 || l > -9 {
			t.Errorf("mixed: 440 Hz at %.1f dBFS, want -10", l)
		}
	}
}

// crashChild records a 440 Hz customer and a 1000 Hz agent in real time
// into a mixed and a dual file in dir, printing the number of frames fed
// after each one, until it is killed.
func crashChild(dir string) {
	const rate = 16000
	var recs []*Recorder
	for name, ch := range map[string]int{"mixed.wav": 1, "dual.wav": 2} {
		r, err := New(filepath.Join(dir, name), Options{SampleRate: rate, Channels: ch})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		recs = append(recs, r)
	}
	customer := mediatest.NewSine(rate, 440, -10)
	agent := mediatest.NewSine(rate, 1000, -10)
	var c, a media.Frame
	tick := time.NewTicker(media.FrameDuration)
	for n := 1; n < 1000; n++ {
		<-tick.C
		_ = customer.ReadFrame(&c)
		_ = agent.ReadFrame(&a)
		for _, r := range recs {
			if err := r.Writer(Customer).WriteFrame(c); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			if err := r.Writer(Agent).WriteFrame(a); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
		fmt.Println(n)
	}
	os.Exit(2) // never reached: the parent kills us
}
