package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/voxgate/voxgate/loadgen"
)

// quietSIPWarnings keeps sipgo's default logger to errors. sipgo warns
// through it of its own connection reference counts at hangups ("UDP ref
// went negative"), which says nothing about a load run and breaks up its
// table. The logger is global and unguarded: call it before any SIP.
func quietSIPWarnings(stderr io.Writer) {
	sipmsg.SetDefaultLogger(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError})))
}

// loadgenCmd runs "voxgate loadgen": concurrent calls against a running
// gateway, measured, reported as a table, JSON and an HTML chart.
func loadgenCmd(args []string, env func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "http://127.0.0.1:8080", "the gateway's base URL")
	apiKey := fs.String("api-key", env("VOXGATE_API_KEY"), "an API key with sessions:write and admin (env VOXGATE_API_KEY)")
	sipAddr := fs.String("sip-addr", "", "the gateway's SIP host:port (default: from each session's sip_uri)")
	fixture := fs.String("fixture", "testdata/rtp/pcmu.pcap", "the RTP capture (pcap) every call replays")
	withRTC := fs.Bool("webrtc", false, "add a WebRTC Opus leg (pion, as the agent) to each call, bridged to the SIP leg (the gateway needs webrtc.loopback_only)")
	bridge := fs.Bool("bridge", false, "with --webrtc: each call its two legs alone, no subscriber; the phone's replay carries markers timed at the WebRTC leg")
	dtmf := fs.Bool("dtmf", true, "replay the fixture's RFC 4733 digits (false: its speech alone)")
	calls := fs.Int("calls", 20, "concurrent calls (a ramp's first step)")
	duration := fs.Duration("duration", 30*time.Second, "how long each step is measured")
	rampStep := fs.Int("ramp-step", 0, "ramp: calls added per step (0: a fixed run)")
	rampMax := fs.Int("ramp-max", 1000, "ramp: the most calls")
	maxP99 := fs.Duration("max-p99", 10*time.Millisecond, "ramp: stop after a step whose p99 latency (either way) is above this (0: no limit)")
	maxLoss := fs.Float64("max-loss", 0.001, "ramp: stop after a step that lost more than this share of frames")
	setupRate := fs.Float64("setup-rate", 100, "calls placed per second")
	lateAfter := fs.Duration("late-after", 40*time.Millisecond, "one-way delay past which a frame counts as late")
	lostAfter := fs.Duration("lost-after", time.Second, "one-way delay past which a frame counts as lost")
	pid := fs.Int("pid", 0, "the gateway's process ID, to read its CPU and memory from /proc (default: its /metrics)")
	metricsURL := fs.String("metrics", "", "the gateway's Prometheus URL (default: <url>/metrics)")
	jsonPath := fs.String("json", "", "write the report as JSON to this file")
	htmlPath := fs.String("html", "", "write the report with its charts as HTML to this file")
	bench := fs.String("benchmarks", "", "replace the loadgen section of this Markdown file (BENCHMARKS.md) with the results")
	cpuProfile := fs.String("cpuprofile", "", "write loadgen's own CPU profile to this file (go tool pprof)")
	benchCmd := fs.String("benchmarks-command", "", "the command --benchmarks records (default: this loadgen command line)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *apiKey == "" {
		fmt.Fprintln(stderr, "voxgate loadgen: give --api-key (or VOXGATE_API_KEY)")
		return 2
	}
	fx, err := loadgen.LoadFixture(*fixture)
	if err != nil {
		fmt.Fprintln(stderr, "voxgate loadgen:", err)
		return 2
	}
	if !*dtmf {
		fx = fx.WithoutEvents()
	}
	cfg := loadgen.Config{URL: *base, APIKey: *apiKey, SIPAddr: *sipAddr, Fixture: fx, Calls: *calls, Duration: *duration,
		RampStep: *rampStep, RampMax: *rampMax, MaxP99: *maxP99, MaxLoss: *maxLoss, SetupRate: *setupRate,
		LateAfter: *lateAfter, LostAfter: *lostAfter, WebRTC: *withRTC, Bridge: *bridge, Log: stderr}
	switch {
	case *pid > 0:
		cfg.Usage = loadgen.ProcUsage(*pid)
	case *metricsURL != "":
		cfg.Usage = loadgen.MetricsUsage(*metricsURL)
	default:
		cfg.Usage = loadgen.MetricsUsage(strings.TrimRight(*base, "/") + "/metrics")
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "voxgate loadgen:", err)
			return 2
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "voxgate loadgen:", err)
			return 2
		}
		defer pprof.StopCPUProfile()
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	rep, err := loadgen.Run(ctx, cfg)
	if rep == nil {
		fmt.Fprintln(stderr, "voxgate loadgen:", err)
		return 1
	}
	if err != nil {
		fmt.Fprintln(stderr, "voxgate loadgen: stopped early:", err)
	}
	_ = rep.WriteTable(stdout)
	for _, out := range []struct {
		path  string
		write func(io.Writer) error
	}{{*jsonPath, rep.WriteJSON}, {*htmlPath, rep.WriteHTML}} {
		if out.path == "" {
			continue
		}
		if err := writeFile(out.path, out.write); err != nil {
			fmt.Fprintln(stderr, "voxgate loadgen:", err)
			return 1
		}
	}
	if *bench != "" {
		cmdline := *benchCmd
		if cmdline == "" {
			cmdline = "voxgate loadgen " + strings.Join(args, " ")
		}
		if err := rep.UpdateMarkdown(*bench, cmdline); err != nil {
			fmt.Fprintln(stderr, "voxgate loadgen:", err)
			return 1
		}
	}
	if err != nil || len(rep.Steps) == 0 {
		return 1
	}
	return 0
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
