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

// BenchmarkSIPpConcurrentCalls has SIPp (the caller) place loadCalls
// concurrent G.711 calls, one per session, each playing its A-law
// recording for about 7 s then hanging up; the gateway's CPU (this
// process: SIP, RTP, transcoding, session mixing; SIPp runs apart) is
// reported per call as a share of a core.
func BenchmarkSIPpConcurrentCalls(b *testing.B) {
	sipp, err := exec.LookPath("sipp")
	if err != nil {
		b.Fatal("sipp is missing: apt-get install sip-tester (make test installs it)")
	}
	st := storetest.OpenConfig(b, store.Config{DataDir: b.TempDir()})
	m, err := session.NewManager(session.Config{PublicURL: "http://127.0.0.1:8080", SIPHost: "127.0.0.1"}, st, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
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
	defer srv.Close()

	xml, err := exec.Command(sipp, "-sd", "uac_pcap").Output() // it exits 99 after printing
	if !strings.Contains(string(xml), "</scenario>") {
		b.Fatalf("sipp -sd uac_pcap: %v", err)
	}
	scenario := strings.NewReplacer("[service]", "[field0]",
		"pcap/g711a.pcap", "/usr/share/sip-tester/g711a.pcap",
		"pcap/dtmf_2833_1.pcap", "/usr/share/sip-tester/dtmf_2833_1.pcap").Replace(string(xml))
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "uac.xml"), []byte(scenario), 0o600); err != nil {
		b.Fatal(err)
	}
	var calls, callSeconds float64
	var cpu time.Duration
	for b.Loop() {
		users := []string{"SEQUENTIAL"}
		for range loadCalls {
			s, err := m.Create(ctx, sc, session.CreateParams{Mode: "media_stream"})
			if err != nil {
				b.Fatal(err)
			}
			users = append(users, s.ID+";")
		}
		if err := os.WriteFile(filepath.Join(dir, "users.csv"), []byte(strings.Join(users, "\n")+"\n"), 0o600); err != nil {
			b.Fatal(err)
		}
		n := strconv.Itoa(loadCalls)
		cmd := exec.CommandContext(ctx, sipp, "-sf", "uac.xml", "-inf", "users.csv", "-m", n, "-l", n, "-r", n,
			"-i", "127.0.0.1", "-p", "0", "-mp", "0", "-nostdin", "-timeout", "60s", "-timeout_error", srv.Addr().String())
		cmd.Dir = dir
		before, start := cpuTime(b), time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("sipp: %v\n%s", err, lastLines(out, 30))
		}
		wall := time.Since(start)
		cpu += cpuTime(b) - before
		calls += loadCalls
		callSeconds += loadCalls * wall.Seconds()
	}
	b.ReportMetric(100*cpu.Seconds()/callSeconds, "%core/call")
	b.ReportMetric(float64(cpu.Milliseconds())/calls, "cpu-ms/call")
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
