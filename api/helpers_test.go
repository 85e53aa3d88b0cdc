package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/voxgate/voxgate/analysis"
	"github.com/voxgate/voxgate/api"
	"github.com/voxgate/voxgate/id"
	"github.com/voxgate/voxgate/rtc"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/store"
	"github.com/voxgate/voxgate/store/storetest"
	"github.com/voxgate/voxgate/webhook"
)

// gateway is a real API server on a loopback port over a real store.
type gateway struct {
	t        testing.TB
	cfg      store.Config
	store    *store.Store
	sessions *session.Manager
	webhooks *webhook.Service
	analyses *analysis.Service
	srv      *httptest.Server
	orgID    string
	ready    bool
}

type options struct {
	api     api.Config
	session session.Config
	webrtc  bool // answer WebRTC offers (loopback candidates only)
	// webhooks, when set, runs a webhook service with this configuration.
	webhooks *webhook.Config
}

func startGateway(t testing.TB, cfg store.Config, o options) *gateway {
	t.Helper()
	g := &gateway{t: t, cfg: cfg, ready: true}
	g.store = storetest.OpenConfig(t, cfg)
	o.session.PublicURL = "http://127.0.0.1:8080"
	o.session.SIPHost = "127.0.0.1"
	var err error
	g.sessions, err = session.NewManager(o.session, g.store, nil)
	if err != nil {
		t.Fatal(err)
	}
	opts := api.Options{Config: o.api, Store: g.store, Sessions: g.sessions,
		Registry: prometheus.NewRegistry(), Ready: func() bool { return g.ready }}
	if o.webrtc {
		ep, err := rtc.NewEndpoint(rtc.Config{LoopbackOnly: true, ConnectTimeout: 5 * time.Second}, g.sessions, nil)
		if err != nil {
			t.Fatal(err)
		}
		opts.WebRTC = ep
	}
	if o.webhooks != nil {
		if g.webhooks, err = webhook.New(*o.webhooks, g.store, g.sessions, nil); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { g.webhooks.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
		opts.Webhooks = g.webhooks
	}
	g.analyses = analysis.New(g.store, g.sessions, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { g.analyses.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	opts.Analyses = g.analyses
	srv, err := api.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	g.srv = httptest.NewServer(srv)
	t.Cleanup(g.srv.Close)
	org, err := g.store.EnsureOrg(context.Background(), id.New(id.Organization), "acme")
	if err != nil {
		t.Fatal(err)
	}
	g.orgID = org.ID
	return g
}

// stop closes the server and the store, as a process exit would.
func (g *gateway) stop() {
	g.srv.Close()
	g.store.Close()
}

// key mints a key with the scopes (all when none are given).
func (g *gateway) key(live bool, scopes ...string) string {
	g.t.Helper()
	return g.keyWith(api.NewKeyParams{Scopes: scopes, Livemode: &live})
}

func (g *gateway) keyWith(p api.NewKeyParams) string {
	g.t.Helper()
	if len(p.Scopes) == 0 {
		p.Scopes = api.Scopes
	}
	v, err := api.MintKey(context.Background(), g.store, g.orgID, p)
	if err != nil {
		g.t.Fatal(err)
	}
	return v.Secret
}

// response is what a request got back.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not JSON: %v: %s", err, r.body)
	}
	return m
}

// errorCode returns the envelope's error.code, checking the envelope's shape.
func (r response) errorCode(t *testing.T) string {
	t.Helper()
	m := r.json(t)
	e, ok := m["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error envelope: %s", r.body)
	}
	for _, f := range []string{"type", "code", "message", "request_id"} {
		if s, _ := e[f].(string); s == "" {
			t.Fatalf("error envelope lacks %s: %s", f, r.body)
		}
	}
	if e["request_id"] != r.header.Get("X-Request-ID") {
		t.Fatalf("request_id %v differs from X-Request-ID %q", e["request_id"], r.header.Get("X-Request-ID"))
	}
	return e["code"].(string)
}

func (r response) errorField(t *testing.T, f string) any {
	t.Helper()
	return r.json(t)["error"].(map[string]any)[f]
}

type header struct{ k, v string }

func (g *gateway) do(method, path, key, body string, hs ...header) response {
	g.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, g.srv.URL+path, rd)
	if err != nil {
		g.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range hs {
		if h.v == "" {
			req.Header.Del(h.k)
		} else {
			req.Header.Set(h.k, h.v)
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.Header.Get("X-Request-ID") == "" || !id.HasPrefix(res.Header.Get("X-Request-ID"), id.Request) {
		g.t.Fatalf("%s %s: no X-Request-ID", method, path)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// want fails unless the response has the status.
func (r response) want(t *testing.T, status int) response {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r
}

// forEachEngine runs fn against SQLite and PostgreSQL.
func forEachEngine(t *testing.T, fn func(t *testing.T, e storetest.Engine)) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) { t.Parallel(); fn(t, e) })
	}
}

func compactJSON(t *testing.T, b []byte) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// atomicTime is a settable clock safe to read from server goroutines.
type atomicTime struct{ ns atomic.Int64 }

func (a *atomicTime) set(t time.Time) { a.ns.Store(t.UnixNano()) }
func (a *atomicTime) now() time.Time  { return time.Unix(0, a.ns.Load()) }

// startBenchGateway is a gateway on a fresh database of the engine, with
// limits out of the way of a benchmark.
func startBenchGateway(b *testing.B, e storetest.Engine) *gateway {
	return startGateway(b, e.Config(b), options{
		api:     api.Config{RateLimitPerMinute: 1 << 30},
		session: session.Config{MaxConcurrentSessions: 1 << 30},
	})
}
