// Package loadgen drives load against a running voxgate: N concurrent
// sessions, each a SIP call replaying a recorded RTP fixture at its original
// timing and a WebSocket subscriber that speaks back, and measures what a
// carrier and a bot would see (set-up rate, one-way latency both ways, loss,
// jitter) with the gateway's CPU and memory. `voxgate loadgen` is its
// command.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

// Config is one load run.
type Config struct {
	// URL is the gateway's base URL; APIKey a key with sessions:write (and
	// admin, unless a trunk already admits 127.0.0.1).
	URL, APIKey string
	// SIPAddr overrides the host:port of the sessions' sip_uri.
	SIPAddr string
	// Fixture is the recording every call replays.
	Fixture *Fixture
	// Calls is the concurrency of a fixed run, held for Duration.
	Calls    int
	Duration time.Duration
	// Ramp, when RampStep > 0: from Calls, RampStep more calls per step,
	// each held for Duration, up to RampMax or until a step breaks
	// MaxP99 (either direction), MaxLoss (share of frames or markers lost)
	// or has a failed set-up.
	RampStep, RampMax int
	MaxP99            time.Duration
	MaxLoss           float64
	// SetupRate is how many calls per second are placed (default 100).
	SetupRate float64
	// LateAfter is the one-way delay past which a frame is late (default
	// 40 ms), LostAfter the one past which it is lost (default 1 s).
	LateAfter, LostAfter time.Duration
	// WebRTC adds to each call a pion peer joined as the agent in Opus,
	// bridged in the session to the SIP G.711 leg: it speaks the markers
	// (return: Opus → G.711) in place of the subscriber, and hears the SIP
	// side's speech. The gateway must offer loopback candidates
	// (webrtc.loopback_only in its YAML).
	WebRTC bool
	// Bridge, with WebRTC, makes each call its two legs alone, as the
	// Opus↔G.711 target has them: no subscriber, and the phone's replay
	// carries markers (every MarkerEvery-th audio frame a burst of the
	// markers' tone in the fixture's codec) timed where the WebRTC leg hears
	// them, so both directions are measured leg to leg. The fixture's frames
	// must be 20 ms.
	Bridge bool
	// Usage reads the gateway's CPU and memory (nil: not measured).
	Usage UsageFunc
	// Log receives progress lines (nil: none).
	Log io.Writer
}

// Step is what one concurrency level measured.
type Step struct {
	Calls        int     `json:"calls"`
	SetupsOK     int     `json:"setups_ok"`
	SetupsFailed int     `json:"setups_failed"`
	SetupRate    float64 `json:"setups_per_second"`
	Setup        Summary `json:"setup_latency"`
	// Forward: RTP sent by the phone → audio.output at the subscriber
	// (bridge runs: the phone's markers → the WebRTC leg; the frame counts
	// are then those markers'). Return: audio.input sent by the subscriber
	// (WebRTC runs: the WebRTC leg's markers) → RTP at the phone.
	Forward     Summary `json:"forward_latency"`
	Return      Summary `json:"return_latency"`
	FramesSent  int     `json:"frames_sent"`
	FramesLost  int     `json:"frames_lost"`
	FramesLate  int     `json:"frames_late"`
	Concealed   int     `json:"frames_concealed"`
	MarkersSent int     `json:"markers_sent"`
	MarkersLost int     `json:"markers_lost"`
	MarkersLate int     `json:"markers_late"`
	// RTPLost counts gaps in the gateway's RTP to the phones; Jitter is
	// the phones' mean and worst RFC 3550 interarrival jitter.
	RTPReceived int           `json:"rtp_received"`
	RTPLost     int           `json:"rtp_lost"`
	JitterMean  time.Duration `json:"jitter_mean"`
	JitterMax   time.Duration `json:"jitter_max"`
	// AudioMatch is the share of the fixture's speech frames that reached
	// the subscribers at their recorded level (±6 dB).
	AudioMatch float64 `json:"audio_match"`
	// OpusFrames is what the WebRTC legs heard, OpusSpeech the share of it
	// that was speech (WebRTC runs).
	OpusFrames int     `json:"opus_frames,omitempty"`
	OpusSpeech float64 `json:"opus_speech,omitempty"`
	// CPU is the gateway's CPU use in cores (1.0 = one core busy); RSS its
	// resident memory at the end of the step, and RSSPerCall the growth
	// over the idle gateway divided by the calls.
	Seconds    float64 `json:"seconds"`
	CPU        float64 `json:"cpu_cores"`
	RSS        int64   `json:"rss_bytes"`
	RSSPerCall int64   `json:"rss_per_call_bytes"`
	// LoadAvg is the machine's one-minute load average at the end of the
	// step: more than its cores means the gateway and loadgen waited for CPU.
	LoadAvg float64 `json:"load_average"`
}

// Sample is the gateway's load at one moment of the run.
type Sample struct {
	At    float64 `json:"t"` // seconds from the start
	Calls int     `json:"calls"`
	CPU   float64 `json:"cpu_cores"`
	RSS   int64   `json:"rss_bytes"`
}

// Report is a whole run.
type Report struct {
	Fixture   string    `json:"fixture"`
	Codec     string    `json:"codec"`
	Mode      string    `json:"mode"`
	WebRTC    bool      `json:"webrtc"`
	Bridge    bool      `json:"bridge,omitempty"`
	Started   time.Time `json:"started"`
	Machine   string    `json:"machine"`
	Cores     int       `json:"cores"`
	Steps     []Step    `json:"steps"`
	Timeline  []Sample  `json:"timeline"`
	IdleRSS   int64     `json:"idle_rss_bytes"`
	Capacity  int       `json:"capacity"` // ramp: the last step within the thresholds
	StoppedBy string    `json:"stopped_by,omitempty"`
}

// Generator runs a Config.
type Generator struct {
	cfg   Config
	fx    *Fixture
	ref   []float64
	api   *api
	phone *phone
	rtc   *webrtc.API // WebRTC runs
	opus  [][]byte    // the markers in Opus, one period
	// phoneMarker is a marker frame in the fixture's codec (bridge runs).
	phoneMarker []byte

	mu    sync.Mutex
	calls []*call // up
	ended []*call // hung up, not yet harvested for the last time
}

// Run performs the load run and reports it. ctx ending stops it early
// (the calls placed are hung up and what was measured is reported).
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Fixture == nil || cfg.Calls <= 0 || cfg.Duration <= 0 {
		return nil, errors.New("loadgen: a fixture, calls > 0 and a duration are needed")
	}
	if cfg.SetupRate <= 0 {
		cfg.SetupRate = 100
	}
	if cfg.LateAfter <= 0 {
		cfg.LateAfter = 40 * time.Millisecond
	}
	if cfg.LostAfter <= 0 {
		cfg.LostAfter = time.Second
	}
	ref, err := referenceLevels(cfg.Fixture)
	if err != nil {
		return nil, err
	}
	g := &Generator{cfg: cfg, fx: cfg.Fixture, ref: ref,
		api: &api{base: strings.TrimRight(cfg.URL, "/"), key: cfg.APIKey, http: &http.Client{Timeout: 30 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: 256}}}}
	if err := g.api.ensureTrunk(ctx); err != nil {
		return nil, fmt.Errorf("loadgen: trunk for 127.0.0.1: %w", err)
	}
	if cfg.WebRTC {
		if g.rtc, err = rtcAPI(); err != nil {
			return nil, err
		}
		if g.opus, err = opusMarkers(); err != nil {
			return nil, err
		}
	}
	if cfg.Bridge {
		if !cfg.WebRTC || int(cfg.Fixture.FrameStep)*50 != cfg.Fixture.ClockRate {
			return nil, errors.New("loadgen: a bridge run needs WebRTC legs and a fixture of 20 ms frames")
		}
		if g.phoneMarker, err = markerPayload(cfg.Fixture.Format); err != nil {
			return nil, err
		}
	}
	if g.phone, err = newPhone(); err != nil {
		return nil, err
	}
	defer g.phone.close()
	defer g.hangupAll()

	rep := &Report{Fixture: cfg.Fixture.Name, Codec: cfg.Fixture.Format.String(), Mode: "fixed", Started: time.Now().UTC(),
		Machine: cpuModel(), Cores: runtime.NumCPU()}
	if cfg.RampStep > 0 {
		rep.Mode = "ramp"
	}
	if rep.WebRTC = cfg.WebRTC; cfg.WebRTC {
		rep.Codec += " ↔ WebRTC opus/48000"
	}
	rep.Bridge = cfg.Bridge
	stopSampling := g.sample(ctx, rep)
	defer stopSampling()
	if u, err := g.usage(ctx); err == nil {
		rep.IdleRSS = u.RSS
	}
	for level := cfg.Calls; ; level += cfg.RampStep {
		st, err := g.step(ctx, level, rep.IdleRSS)
		if err != nil {
			return rep, err
		}
		rep.Steps = append(rep.Steps, st)
		g.logf("%d calls: setup %d ok %d failed (%.0f/s); forward p99 %v, return p99 %v; lost %d/%d frames, %d/%d markers; CPU %.2f cores; RSS %d MiB",
			st.Calls, st.SetupsOK, st.SetupsFailed, st.SetupRate, st.Forward.P99, st.Return.P99,
			st.FramesLost, st.FramesSent, st.MarkersLost, st.MarkersSent, st.CPU, st.RSS>>20)
		if why := g.broken(st); why != "" {
			rep.StoppedBy = why
			break
		}
		rep.Capacity = st.Calls
		if cfg.RampStep <= 0 || level+cfg.RampStep > cfg.RampMax || ctx.Err() != nil {
			break
		}
	}
	// Hang up and count what was still in flight against the last step.
	last := &rep.Steps[len(rep.Steps)-1]
	g.hangupAll()
	final := g.harvest(time.Now(), true)
	last.FramesLost += final.framesLost
	last.MarkersLost += final.markersLost
	last.RTPLost += final.rtpLost
	if rep.StoppedBy == "" && g.broken(*last) != "" {
		rep.StoppedBy, rep.Capacity = g.broken(*last), 0
		if len(rep.Steps) > 1 {
			rep.Capacity = rep.Steps[len(rep.Steps)-2].Calls
		}
	}
	return rep, ctx.Err()
}

// broken says why a step is beyond the ramp's thresholds ("" if it is not).
func (g *Generator) broken(st Step) string {
	c := g.cfg
	switch {
	case st.SetupsFailed > 0:
		return fmt.Sprintf("%d failed set-ups", st.SetupsFailed)
	case c.MaxP99 > 0 && st.Forward.P99 > c.MaxP99:
		return fmt.Sprintf("forward p99 %v > %v", st.Forward.P99, c.MaxP99)
	case c.MaxP99 > 0 && st.Return.P99 > c.MaxP99:
		return fmt.Sprintf("return p99 %v > %v", st.Return.P99, c.MaxP99)
	case st.FramesSent > 0 && float64(st.FramesLost)/float64(st.FramesSent) > c.MaxLoss:
		return fmt.Sprintf("%d of %d frames lost", st.FramesLost, st.FramesSent)
	case st.MarkersSent > 0 && float64(st.MarkersLost)/float64(st.MarkersSent) > c.MaxLoss:
		return fmt.Sprintf("%d of %d markers lost", st.MarkersLost, st.MarkersSent)
	}
	return ""
}

// step brings the calls up to level, lets them settle, and measures them
// for the configured duration.
func (g *Generator) step(ctx context.Context, level int, idleRSS int64) (Step, error) {
	st := Step{Calls: level}
	var setups Latencies
	start := time.Now()
	g.mu.Lock()
	need := level - len(g.calls)
	g.mu.Unlock()
	var wg sync.WaitGroup
	var smu sync.Mutex
	var firstErr error
	interval := time.Duration(float64(time.Second) / g.cfg.SetupRate)
	sem := make(chan struct{}, 256)
	for i := 0; i < need && ctx.Err() == nil; i++ {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			c, err := g.place(pctx)
			smu.Lock()
			defer smu.Unlock()
			if err != nil {
				st.SetupsFailed++
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			st.SetupsOK++
			setups.Add(c.setup)
			g.mu.Lock()
			g.calls = append(g.calls, c)
			g.mu.Unlock()
		}()
	}
	wg.Wait()
	if need > 0 {
		st.SetupRate = float64(st.SetupsOK) / time.Since(start).Seconds()
	}
	st.Setup = setups.Summarize()
	if firstErr != nil {
		g.logf("set-up failed: %v", firstErr)
	}
	if ctx.Err() != nil {
		return st, nil
	}
	// Settle, then measure from a clean slate.
	time.Sleep(time.Second)
	g.harvest(time.Now(), false)
	u0, _ := g.usage(ctx)
	t0 := time.Now()
	select {
	case <-ctx.Done():
	case <-time.After(g.cfg.Duration):
	}
	u1, _ := g.usage(ctx)
	st.Seconds = time.Since(t0).Seconds()
	st.LoadAvg = loadAverage()
	st.CPU = (u1.CPU - u0.CPU).Seconds() / st.Seconds
	st.RSS = u1.RSS
	g.mu.Lock()
	n := len(g.calls)
	g.mu.Unlock()
	if n > 0 && u1.RSS > idleRSS {
		st.RSSPerCall = (u1.RSS - idleRSS) / int64(n)
	}
	t := g.harvest(time.Now(), false)
	st.Forward, st.Return = t.fwd.Summarize(), t.ret.Summarize()
	st.FramesSent, st.FramesLost, st.FramesLate, st.Concealed = t.framesSent, t.framesLost, t.framesLate, t.concealed
	st.MarkersSent, st.MarkersLost, st.MarkersLate = t.markersSent, t.markersLost, t.markersLate
	st.RTPReceived, st.RTPLost, st.JitterMean, st.JitterMax = t.rtpReceived, t.rtpLost, t.jitter, t.jitterMax
	if t.voiced > 0 {
		st.AudioMatch = float64(t.matched) / float64(t.voiced)
	}
	if st.OpusFrames = t.opusFrames; t.opusFrames > 0 {
		st.OpusSpeech = float64(t.opusSpeech) / float64(t.opusFrames)
	}
	return st, nil
}

// total is the sum of every call's tally.
type total struct {
	tally
	jitterMax time.Duration
}

// harvest collects every call's measurements since the last harvest.
func (g *Generator) harvest(now time.Time, final bool) total {
	g.mu.Lock()
	calls := append([]*call(nil), g.calls...)
	g.mu.Unlock()
	if final {
		calls = append(calls, g.ended...)
		g.ended = nil
	}
	var t total
	var jitterSum time.Duration
	for _, c := range calls {
		h := c.p.harvest(now, final)
		t.fwd.Merge(&h.fwd)
		t.ret.Merge(&h.ret)
		t.framesSent += h.framesSent
		t.framesLost += h.framesLost
		t.framesLate += h.framesLate
		t.concealed += h.concealed
		t.markersSent += h.markersSent
		t.markersLost += h.markersLost
		t.markersLate += h.markersLate
		t.voiced += h.voiced
		t.matched += h.matched
		t.opusFrames += h.opusFrames
		t.opusSpeech += h.opusSpeech
		t.rtpReceived += h.rtpReceived
		t.rtpLost += h.rtpLost
		jitterSum += h.jitter
		t.jitterMax = max(t.jitterMax, h.jitter)
	}
	if len(calls) > 0 {
		t.jitter = jitterSum / time.Duration(len(calls))
	}
	return t
}

// hangupAll ends every call, a few at a time.
func (g *Generator) hangupAll() {
	g.mu.Lock()
	calls := g.calls
	g.calls = nil
	g.ended = append(g.ended, calls...)
	g.mu.Unlock()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for _, c := range calls {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c.hangup()
		}()
	}
	wg.Wait()
}

// usage reads the gateway's usage (zero when not configured).
func (g *Generator) usage(ctx context.Context) (Usage, error) {
	if g.cfg.Usage == nil {
		return Usage{}, errors.New("no usage source")
	}
	return g.cfg.Usage(ctx)
}

// sample records the timeline once a second until the returned func is called.
func (g *Generator) sample(ctx context.Context, rep *Report) func() {
	if g.cfg.Usage == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tk := time.NewTicker(time.Second)
		defer tk.Stop()
		start := time.Now()
		prev, err := g.usage(ctx)
		prevT := start
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case now := <-tk.C:
				u, err2 := g.usage(ctx)
				if err == nil && err2 == nil {
					g.mu.Lock()
					n := len(g.calls)
					g.mu.Unlock()
					rep.Timeline = append(rep.Timeline, Sample{At: now.Sub(start).Seconds(), Calls: n,
						CPU: (u.CPU - prev.CPU).Seconds() / now.Sub(prevT).Seconds(), RSS: u.RSS})
				}
				prev, prevT, err = u, now, err2
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

func (g *Generator) logf(format string, args ...any) {
	if g.cfg.Log != nil {
		fmt.Fprintf(g.cfg.Log, "loadgen: "+format+"\n", args...)
	}
}
