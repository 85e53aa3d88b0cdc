package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/voxgate/voxgate/agentlink"
	"github.com/voxgate/voxgate/analysis"
	"github.com/voxgate/voxgate/api"
	"github.com/voxgate/voxgate/botlink"
	"github.com/voxgate/voxgate/cluster"
	"github.com/voxgate/voxgate/rtc"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/sip"
	_ "github.com/voxgate/voxgate/speech/transcribe/pocketsphinx" // the transcription engine "pocketsphinx"
	_ "github.com/voxgate/voxgate/speech/transcribe/whisper"      // the transcription engine "whisper"
	_ "github.com/voxgate/voxgate/speech/transcribe/wsstream"     // the transcription engine "stream"
	"github.com/voxgate/voxgate/store"
	"github.com/voxgate/voxgate/stream"
	"github.com/voxgate/voxgate/web"
	"github.com/voxgate/voxgate/webhook"
)

// defaultGCPercent is the garbage collector's target when GOGC is not set.
// The media path allocates nothing per frame, so collections are rare and a
// tighter target than Go's 100 costs no measurable CPU, while each call
// holds about 100 KiB less memory (BENCHMARKS.md, docs/decisions.md).
const defaultGCPercent = 25

// serve runs the gateway until SIGTERM or SIGINT, then drains: new work is
// refused (/readyz false), in-flight requests finish, and the process exits.
// A second signal stops at once.
func serve(args []string, env func(string) string) int {
	cfg, _, err := loadConfig("serve", args, env)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "voxgate: invalid config:", err)
		return 2
	}
	if err := cfg.resolve(); err != nil {
		fmt.Fprintln(os.Stderr, "voxgate: invalid config:", err)
		return 2
	}
	log, err := newLogger(cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		fmt.Fprintln(os.Stderr, "voxgate: invalid config: log_level:", err)
		return 2
	}
	defer func() { _ = log.Sync() }()
	if env("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)

	g, err := start(ctx, cfg, log)
	if err != nil {
		log.Error("start failed", zap.Error(err))
		fmt.Fprintln(os.Stderr, "voxgate:", err)
		return 1
	}
	select {
	case sig := <-signals:
		log.Info("draining", zap.String("signal", sig.String()), zap.Duration("drain_timeout", cfg.DrainTimeout))
	case err := <-g.failed:
		log.Error("server failed", zap.Error(err))
		g.close()
		return 1
	}
	go func() {
		<-signals
		log.Warn("second signal: stopping now")
		os.Exit(1)
	}()
	g.drain(cfg.DrainTimeout)
	log.Info("stopped")
	return 0
}

// The legs satisfy the session's interfaces structurally; checked here,
// where they meet.
var (
	_ session.Dialer    = (*sip.Server)(nil)
	_ session.Leg       = (*sip.Call)(nil)
	_ session.Leg       = (*rtc.Peer)(nil)
	_ session.Leg       = (*stream.TwilioLeg)(nil)
	_ session.BotDialer = (*botlink.Supervisor)(nil)
)

// gateway is a running voxgate: its store, manager and listeners.
type gateway struct {
	log      *zap.Logger
	store    *store.Store
	sessions *session.Manager
	http     *http.Server
	admin    *http.Server
	sip      *sip.Server
	bots     *botlink.Supervisor
	cluster  *cluster.Cluster // nil on a single node
	agents   *agentlink.Supervisor
	cancel   context.CancelFunc
	ready    atomic.Bool
	failed   chan error
	httpAddr net.Addr
	// webhooksDone is closed when the deliverer has stopped (after cancel).
	webhooksDone chan struct{}
	// analysesDone is closed when the analysis worker has stopped.
	analysesDone chan struct{}
}

// start opens the store, builds the services and starts listening.
func start(ctx context.Context, cfg Config, log *zap.Logger) (*gateway, error) {
	ctx, cancel := context.WithCancel(ctx)
	g := &gateway{log: log, cancel: cancel, failed: make(chan error, 2)}
	openCtx, openCancel := context.WithTimeout(ctx, 30*time.Second)
	defer openCancel()
	st, err := store.Open(openCtx, cfg.storeConfig())
	if err != nil {
		cancel()
		return nil, err
	}
	g.store = st
	log.Info("store open", zap.String("engine", st.Engine()))

	if cfg.DevKey {
		if err := bootstrapDevKey(openCtx, st, cfg); err != nil {
			g.close()
			return nil, err
		}
	}

	g.sessions, err = session.NewManager(cfg.sessionConfig(), st, log.Named("session"))
	if err != nil {
		g.close()
		return nil, err
	}
	if err := loadTrunks(openCtx, st, g.sessions, cfg.Trunks); err != nil {
		g.close()
		return nil, err
	}
	if n, err := g.sessions.RecoverRecordings(openCtx); err != nil {
		g.close()
		return nil, fmt.Errorf("recover recordings: %w", err)
	} else if n > 0 {
		log.Info("recovered recordings left open by a crash", zap.Int("count", n))
	}
	var member api.Cluster // a nil *cluster.Cluster must stay a nil api.Cluster
	if cfg.RedisURL != "" {
		if g.cluster, err = cluster.New(openCtx, cfg.clusterConfig(), g.sessions, log.Named("cluster")); err != nil {
			g.close()
			return nil, err
		}
		g.sessions.SetOwners(g.cluster)
		member = g.cluster
		go g.cluster.Run(ctx)
		log.Info("cluster node registered", zap.String("node_id", cfg.NodeID), zap.String("advertise_addr", cfg.AdvertiseAddr))
	}
	go g.sessions.Run(ctx)
	hooks, err := webhook.New(cfg.webhookConfig(), st, g.sessions, log.Named("webhook"))
	if err != nil {
		g.close()
		return nil, err
	}
	g.webhooksDone = make(chan struct{})
	go func() { hooks.Run(ctx); close(g.webhooksDone) }()
	analyses := analysis.New(st, g.sessions, log.Named("analysis"))
	g.analysesDone = make(chan struct{})
	go func() { analyses.Run(ctx); close(g.analysesDone) }()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	g.ready.Store(true)
	webrtc, err := rtc.NewEndpoint(cfg.WebRTC, g.sessions, log.Named("rtc"))
	if err != nil {
		g.close()
		return nil, err
	}
	allowOrigin := func(origin string) bool { return api.OriginAllowed(cfg.CORSOrigins, origin) }
	connect := stream.NewHandler(stream.Config{AllowOrigin: allowOrigin}, g.sessions, log.Named("stream"))
	registerMetrics(reg, g.sessions, connect, hooks)
	g.bots = botlink.New(botlink.Config{}, g.sessions, connect, log.Named("bot"))
	// Agents with an llm brain run in process; the others' bots are dialed.
	g.agents = agentlink.New(agentlink.Config{}, g.sessions, g.bots, log.Named("agent"))
	g.sessions.SetBotDialer(g.agents)
	g.sessions.SetToolResults(g.agents)
	srv, err := api.New(api.Options{
		Config: cfg.apiConfig(), Store: st, Sessions: g.sessions, Logger: log.Named("api"),
		Registry: reg, Ready: g.ready.Load, WebRTC: webrtc, Demo: web.Demo(), Connect: connect,
		Webhooks: hooks, Cluster: member, Analyses: analyses,
	})
	if err != nil {
		g.close()
		return nil, err
	}
	sipCfg := sip.Config{Addr: cfg.SIPAddr, Host: sipMediaHost(cfg), RTPPortMin: cfg.RTPPortMin, RTPPortMax: cfg.RTPPortMax,
		Limits: sip.Limits{SourceRate: float64(cfg.SIPSourceRate) / 60, SourceBurst: cfg.SIPSourceBurst, BanFor: cfg.SIPBan, MaxCallsPerOrg: cfg.MaxCallsPerOrg}}
	if cfg.SIPTLSCert != "" || cfg.SIPTLSKey != "" {
		certs, err := newCertReloader(cfg.SIPTLSCert, cfg.SIPTLSKey)
		if err != nil {
			g.close()
			return nil, err
		}
		certs.watch(ctx, log.Named("sip"))
		sipCfg.TLSAddr, sipCfg.TLS = cfg.SIPTLSAddr, certs.tlsConfig()
	}
	if g.sip, err = sip.Listen(sipCfg, g.sessions, log.Named("sip")); err != nil {
		g.close()
		return nil, fmt.Errorf("sip_addr: %w", err)
	}
	registerSIPMetrics(reg, g.sip)
	g.sip.Serve()
	g.sessions.SetDialer(g.sip)
	sipFields := []zap.Field{zap.Stringer("addr", g.sip.Addr())}
	if tlsAddr := g.sip.TLSAddr(); tlsAddr.IsValid() {
		sipFields = append(sipFields, zap.Stringer("tls_addr", tlsAddr))
	}
	log.Info("sip listening", sipFields...)
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		g.close()
		return nil, fmt.Errorf("http_addr: %w", err)
	}
	g.httpAddr = ln.Addr()
	g.http = &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: zap.NewStdLog(log.Named("http"))}
	go g.serveOn(g.http, ln)
	log.Info("http listening", zap.String("addr", ln.Addr().String()), zap.String("public_url", cfg.PublicURL))

	if cfg.AdminAddr != "" {
		aln, err := net.Listen("tcp", cfg.AdminAddr)
		if err != nil {
			g.close()
			return nil, fmt.Errorf("admin_addr: %w", err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		g.admin = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go g.serveOn(g.admin, aln)
		log.Info("admin (pprof) listening", zap.String("addr", aln.Addr().String()))
	}
	fmt.Printf("voxgate is up: API %s/v1, demo %s/demo (store: %s)\n", cfg.PublicURL, cfg.PublicURL, st.Engine())
	return g, nil
}

func (g *gateway) serveOn(s *http.Server, ln net.Listener) {
	if err := s.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		g.failed <- err
	}
}

// drain stops taking work, lets in-flight requests finish within timeout,
// then closes everything.
func (g *gateway) drain(timeout time.Duration) {
	if g.cluster != nil { // first: other nodes stop placing sessions here
		g.cluster.Drain(context.Background())
	}
	g.ready.Store(false)
	g.sessions.Drain()
	g.sip.Drain()
	deadline := time.Now().Add(timeout)
	for (g.sessions.LiveCalls() > 0 || g.sip.Calls() > 0) && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if n := g.sessions.EndAll(ctx, session.EndShutdown); n > 0 {
		g.log.Info("ended sessions at shutdown", zap.Int("count", n))
	}
	if err := g.http.Shutdown(ctx); err != nil {
		g.log.Warn("http shutdown", zap.Error(err))
	}
	if g.cluster != nil {
		g.cluster.Leave(ctx)
	}
	g.close()
}

func (g *gateway) close() {
	g.cancel()
	if g.agents != nil {
		g.agents.Close()
	}
	if g.bots != nil {
		g.bots.Close()
	}
	if g.webhooksDone != nil {
		<-g.webhooksDone // attempts in flight record their outcome before the store closes
	}
	if g.analysesDone != nil {
		<-g.analysesDone
	}
	if g.sip != nil {
		_ = g.sip.Close()
	}
	for _, s := range []*http.Server{g.http, g.admin} {
		if s != nil {
			_ = s.Close()
		}
	}
	if g.store != nil {
		_ = g.store.Close()
	}
}

// bootstrapDevKey mints a key with every scope when the database has none,
// and prints it once.
func bootstrapDevKey(ctx context.Context, st *store.Store, cfg Config) error {
	n, err := st.CountAPIKeys(ctx)
	if err != nil || n > 0 {
		return err
	}
	secret, err := mintKey(ctx, st, "dev", api.NewKeyParams{Name: "development", Scopes: api.Scopes})
	if err != nil {
		return err
	}
	fmt.Printf(`
  Development API key (every scope; shown once, only its hash is stored):

      %s

  Try it:  curl -s %s/v1/agents -H "Authorization: Bearer %s"
  Demo:    %s/demo  (paste the key to create a session and talk from the browser)

`, secret, cfg.PublicURL, secret, cfg.PublicURL)
	return nil
}

func newLogger(level, format string) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, err
	}
	zc := zap.NewProductionConfig()
	if format == "console" {
		zc = zap.NewDevelopmentConfig()
	}
	zc.Level = zap.NewAtomicLevelAt(lvl)
	zc.DisableStacktrace = true
	return zc.Build()
}

// sipMediaHost is the address SIP peers are told to send to: the host of
// sip_uri when it is an IP address (a name is left to the SIP default).
func sipMediaHost(cfg Config) string {
	host := cfg.SIPHost
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if net.ParseIP(host) == nil {
		return ""
	}
	return host
}
