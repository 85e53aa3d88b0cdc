package sip_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/sip"
	"github.com/voxgate/voxgate/store"
	"github.com/voxgate/voxgate/store/storetest"
)

// loadCalls is how many calls SIPp holds at once in the load benchmark.
const loadCalls = 40

// sippLoad is a gateway on loopback and SIPp scenarios to drive it.
type sippLoad struct {
	b    *testing.B
	sipp string
	m    *session.Manager
	srv  *sip.Server
	sc   store.Scope
	ctx  context.Context
	dir  string
}

func newSIPpLoad(b *testing.B) *sippLoad {
	sipp, err := exec.LookPath("sipp")
	if err != nil {
		b.Fatal("sipp is missing: apt-get install sip-tester (make test installs it)")
	}
	st := storetest.OpenConfig(b, store.Config{DataDir: b.TempDir()})
	m, err := session.NewManager(session.Config{PublicURL: "http://127.0.0.1:8080", SIPHost: "127.0.0.1", MaxConcurrentSessions: 100_000}, st, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	b.Cleanup(cancel)
	b.Cleanup(func() { // after the server: the last sessions finish ending
		for deadline := time.Now().Add(10 * time.Second); m.Metrics().LiveSessions > 0 && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
	})
	sc := store.Scope{OrgID: "org_load", Livemode: true}
	name, cidrs := "sipp", []string{"127.0.0.1/32"}
	if _, err := m.CreateTrunk(ctx, sc, session.TrunkParams{Name: &name, InboundCIDRs: &cidrs}); err != nil {
		b.Fatal(err)
	}
	srv, err := sip.Listen(sip.Config{Addr: "127.0.0.1:0"}, m, nil)
	if err != nil {
		b.Fatal(err)
	}
	srv.Serve()
	b.Cleanup(func() { srv.Close() })
	return &sippLoad{b: b, sipp: sipp, m: m, srv: srv, sc: sc, ctx: ctx, dir: b.TempDir()}
}

// scenario writes one of SIPp's built-in scenarios calling [field0] of the
// injection file, with the replacements given (old, new, …).
func (l *sippLoad) scenario(builtin string, replace ...string) {
	xml, err := exec.Command(l.sipp, "-sd", builtin).Output() // it exits 99 after printing
	if !strings.Contains(string(xml), "</scenario>") {
		l.b.Fatalf("sipp -sd %s: %v", builtin, err)
	}
	r := strings.NewReplacer(append([]string{"[service]", "[field0]"}, replace...)...)
	if err := os.WriteFile(filepath.Join(l.dir, "uac.xml"), []byte(r.Replace(string(xml))), 0o600); err != nil {
		l.b.Fatal(err)
	}
}

// run creates n sessions and has SIPp call each one, rate a second, at most
// limit at once; it returns how long SIPp took.
func (l *sippLoad) run(n, rate, limit int) time.Duration {
	users := []string{"SEQUENTIAL"}
	for range n {
		s, err := l.m.Create(l.ctx, l.sc, session.CreateParams{Mode: "media_stream"})
		if err != nil {
			l.b.Fatal(err)
		}
		users = append(users, s.ID+";")
	}
	if err := os.WriteFile(filepath.Join(l.dir, "users.csv"), []byte(strings.Join(users, "\n")+"\n"), 0o600); err != nil {
		l.b.Fatal(err)
	}
	cmd := exec.CommandContext(l.ctx, l.sipp, "-sf", "uac.xml", "-inf", "users.csv", "-m", strconv.Itoa(n), "-l", strconv.Itoa(limit),
		"-r", strconv.Itoa(rate), "-i", "127.0.0.1", "-p", "0", "-mp", "0", "-nostdin", "-timeout", "120s", "-timeout_error", l.srv.Addr().String())
	cmd.Dir = l.dir
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		l.b.Fatalf("sipp (a call failed): %v\n%s", err, lastLines(out, 30))
	}
	return time.Since(start)
}

// BenchmarkSIPpConcurrentCalls has SIPp (the caller) place loadCalls
// concurrent G.711 calls, one per session, each playing its A-law
// recording for about 7 s then hanging up; the gateway's CPU (this
// process: SIP, RTP, transcoding, session mixing; SIPp runs apart) is
// reported per call as a share of a core.
func BenchmarkSIPpConcurrentCalls(b *testing.B) {
	l := newSIPpLoad(b)
	l.scenario("uac_pcap", "pcap/g711a.pcap", "/usr/share/sip-tester/g711a.pcap",
		"pcap/dtmf_2833_1.pcap", "/usr/share/sip-tester/dtmf_2833_1.pcap")
	var calls, callSeconds float64
	var cpu time.Duration
	for b.Loop() {
		before := cpuTime(b)
		wall := l.run(loadCalls, loadCalls, loadCalls)
		cpu += cpuTime(b) - before
		calls += loadCalls
		callSeconds += loadCalls * wall.Seconds()
	}
	b.ReportMetric(100*cpu.Seconds()/callSeconds, "%core/call")
	b.ReportMetric(float64(cpu.Milliseconds())/calls, "cpu-ms/call")
	b.ReportMetric(0, "ns/op")
}

// setupCalls is how many calls the set-up benchmark places, at setupRate a
// second.
const setupCalls, setupRate = 1500, 300

// BenchmarkSIPpSetupRate has SIPp place setupCalls calls at setupRate a
// second, each INVITE → 100/180/200 → ACK → BYE at once (SIPp's uac
// scenario without its pause): the rate achieved with no call failing, and
// the gateway's CPU per call set-up and tear-down.
func BenchmarkSIPpSetupRate(b *testing.B) {
	l := newSIPpLoad(b)
	l.scenario("uac", `<pause/>`, ``)
	var calls float64
	var cpu, wall time.Duration
	for b.Loop() {
		before := cpuTime(b)
		wall += l.run(setupCalls, setupRate, setupCalls)
		cpu += cpuTime(b) - before
		calls += setupCalls
	}
	b.ReportMetric(calls/wall.Seconds(), "calls/s")
	b.ReportMetric(float64(cpu.Microseconds())/calls/1000, "cpu-ms/call")
	b.ReportMetric(0, "ns/op")
}

// cpuTime is the user and system CPU this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
