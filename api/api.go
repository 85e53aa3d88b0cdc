// Package api serves voxgate's REST API v1 on net/http: authentication with
// hashed, scoped API keys, the error envelope, request IDs, per-key rate
// limits, persistent idempotency, cursor pagination, and the resource
// handlers. Handlers return errors; one adapter turns them into responses.
// The API asks the session manager to do things; it holds no session state.
package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/voxgate/voxgate/analysis"
	"github.com/voxgate/voxgate/id"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/store"
	"github.com/voxgate/voxgate/webhook"
)

// Config configures the API. Zero values take the defaults on each field.
type Config struct {
	// RateLimitPerMinute is each key's request budget unless the key has its
	// own. Default 600.
	RateLimitPerMinute int `yaml:"rate_limit_per_minute"`
	// MaxBodyBytes caps request bodies (413 beyond). Default 1 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// IdempotencyTTL is how long Idempotency-Key responses are kept. Default 24h.
	IdempotencyTTL time.Duration `yaml:"idempotency_ttl"`
	// CORSOrigins lists the origins browser routes accept. Default ["*"].
	CORSOrigins []string `yaml:"cors_origins"`
}

func (c *Config) setDefaults() {
	if c.RateLimitPerMinute == 0 {
		c.RateLimitPerMinute = 600
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.IdempotencyTTL == 0 {
		c.IdempotencyTTL = 24 * time.Hour
	}
	if c.CORSOrigins == nil {
		c.CORSOrigins = []string{"*"}
	}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	switch {
	case c.RateLimitPerMinute < 0:
		return errors.New("rate_limit_per_minute: must not be negative")
	case c.MaxBodyBytes < 0:
		return errors.New("max_body_bytes: must not be negative")
	case c.IdempotencyTTL < 0:
		return errors.New("idempotency_ttl: must not be negative")
	}
	for _, o := range c.CORSOrigins {
		if o != "*" && !(len(o) > 8 && (o[:7] == "http://" || o[:8] == "https://")) {
			return fmt.Errorf("cors_origins: %q is not * or an http(s) origin", o)
		}
	}
	return nil
}

// Server is the REST API. It is an http.Handler.
type Server struct {
	cfg      Config
	store    *store.Store
	sessions *session.Manager
	log      *zap.Logger
	limiter  Limiter
	forward  func(next http.Handler, place bool) http.Handler
	metrics  *metrics
	ready    func() bool
	webrtc   Answerer
	webhooks *webhook.Service
	analyses *analysis.Service
	handler  http.Handler
	lastUse  sync.Map // API key ID → time.Time of the last last_used_at write
}

// Options are the parts a Server is built from.
type Options struct {
	Config   Config
	Store    *store.Store
	Sessions *session.Manager
	Logger   *zap.Logger
	// Registry receives the API's metrics and is served at /metrics.
	Registry *prometheus.Registry
	// Ready reports readiness for /readyz (false while draining).
	Ready func() bool
	// WebRTC answers browsers' offers (nil: the route answers 503).
	WebRTC Answerer
	// Demo serves the /demo page (nil: no page).
	Demo http.Handler
	// Connect serves the /connect WebSocket (stream.Handler; nil: 404).
	Connect http.Handler
	// Webhooks manages webhook endpoints (nil, in tests that need none: the
	// routes are not registered).
	Webhooks *webhook.Service
	// Analyses creates and serves session analyses (nil: no analysis routes).
	Analyses *analysis.Service
	// Cluster, when several nodes share the store, places new sessions,
	// forwards requests about a live session to the node that owns it and
	// counts rate limits across nodes (nil: one node).
	Cluster Cluster
}

// Cluster is what the API needs from a cluster of nodes.
type Cluster interface {
	Limiter
	// Forward wraps the handler of a route that creates a session (place)
	// or commands a live one (the path's {id}): the request goes to the
	// chosen or owning node and its answer comes back unchanged, or to
	// next when that node is this one.
	Forward(next http.Handler, place bool) http.Handler
}

// New builds the API server.
func New(o Options) (*Server, error) {
	o.Config.setDefaults()
	if err := o.Config.Validate(); err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.Ready == nil {
		o.Ready = func() bool { return true }
	}
	s := &Server{
		cfg: o.Config, store: o.Store, sessions: o.Sessions, log: o.Logger, ready: o.Ready, webrtc: o.WebRTC,
		webhooks: o.Webhooks, analyses: o.Analyses,
		limiter: newRateLimiter(o.Store.Now),
		metrics: newMetrics(o.Registry),
		forward: func(next http.Handler, _ bool) http.Handler { return next },
	}
	if o.Cluster != nil {
		s.limiter, s.forward = o.Cluster, o.Cluster.Forward
	}
	s.handler = s.routes(o.Registry, o.Demo, o.Connect)
	return s, nil
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// apiHandler is a handler that returns its error instead of writing it.
type apiHandler func(w http.ResponseWriter, r *http.Request) error

func (h apiHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h(w, r); err != nil {
		writeError(w, r, err)
	}
}

type ctxKey int

const (
	ctxRequest ctxKey = iota
)

// requestInfo travels with a request through the middleware.
type requestInfo struct {
	id     string
	route  string
	key    *store.APIKey
	scope  store.Scope
	body   []byte
	logger *zap.Logger
}

func info(r *http.Request) *requestInfo {
	ri, _ := r.Context().Value(ctxRequest).(*requestInfo)
	if ri == nil {
		ri = &requestInfo{logger: zap.NewNop()}
	}
	return ri
}

// writeJSON writes v with the status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":{"type":"api_error","code":"internal_error","message":"response encoding failed"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// writeError writes err in the envelope; unknown errors become a 500 that
// leaks nothing and are logged with the request ID.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	ri := info(r)
	ae := asAPIError(err, resourceOf(ri.route), r.PathValue("id"))
	if ae == nil {
		ri.logger.Error("request failed", zap.Error(err))
		ae = errInternal
	}
	out := *ae
	out.RequestID = ri.id
	out.headers(w.Header())
	writeJSON(w, out.Status, map[string]any{"error": out})
}

// middleware wraps every route: request ID, logging, metrics, panic recovery.
func (s *Server) middleware(pattern string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &requestInfo{id: id.New(id.Request), route: pattern}
		ri.logger = s.log.With(zap.String("request_id", ri.id))
		w.Header().Set("X-Request-ID", ri.id)
		r = r.WithContext(context.WithValue(r.Context(), ctxRequest, ri))
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				ri.logger.Error("panic serving request", zap.Any("panic", p), zap.ByteString("stack", debug.Stack()))
				if sw.status == 0 {
					writeError(sw, r, fmt.Errorf("panic: %v", p))
				}
			}
			elapsed := time.Since(start)
			s.metrics.observe(pattern, sw.status, elapsed)
			fields := []zap.Field{zap.String("method", r.Method), zap.String("route", pattern), zap.Int("status", sw.status), zap.Duration("duration", elapsed)}
			if ri.key != nil {
				fields = append(fields, zap.String("api_key_id", ri.key.ID))
			}
			if id := r.PathValue("id"); id != "" {
				fields = append(fields, zap.String("resource_id", id))
			}
			ri.logger.Debug("request", fields...)
		}()
		next.ServeHTTP(sw, r)
	})
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack hands the connection to a WebSocket upgrade.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// resourceOf names the resource a route is about: "/v1/sessions/{id}/end" → "session".
func resourceOf(route string) string {
	_, path, _ := strings.Cut(route, " ")
	parts := strings.Split(strings.TrimPrefix(path, "/v1/"), "/")
	return strings.TrimSuffix(parts[0], "s")
}

func unixString(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
