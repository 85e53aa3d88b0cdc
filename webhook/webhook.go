// Package webhook delivers the event outbox to webhook endpoints (wh_) and
// to sessions' own webhook_url, and manages the endpoints.
//
// Every state change writes its event to the outbox (store events) in the
// same transaction. The dispatcher turns each new event into one delivery
// row per matching target, in one transaction with marking the event
// dispatched; workers lease due deliveries, POST the signed envelope and
// record the outcome. A delivery is at least once: a process killed
// mid-send leaves the lease to run out and the delivery is sent again, so
// receivers deduplicate by the event's evt_ id. Failures (non-2xx, timeout,
// connection or TLS errors) retry on Config.Retries with jitter, then the
// delivery is failed. A target has at most Config.PerTarget deliveries in
// flight, so one slow endpoint never holds the workers from the others.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/voxgate/voxgate/id"
	"github.com/voxgate/voxgate/store"
)

// SpecRetries is the SPEC §3 schedule: the waits before each retry.
var SpecRetries = []time.Duration{
	time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 24 * time.Hour,
}

// Config configures delivery. Zero values take the defaults on each field.
type Config struct {
	// AllowPrivate lets URLs reach loopback and private addresses
	// (--webhook-allow-private). Off by default, against SSRF.
	AllowPrivate bool `yaml:"-"`
	// Workers is how many deliveries are sent at once. Default 8.
	Workers int `yaml:"workers"`
	// PerTarget caps the deliveries in flight to one endpoint. Default 2.
	PerTarget int `yaml:"per_target"`
	// Timeout bounds one attempt, connection to response. Default 30s.
	Timeout time.Duration `yaml:"timeout"`
	// Retries are the waits before each retry after a failed attempt; when
	// they run out the delivery is failed. Default SpecRetries.
	Retries []time.Duration `yaml:"retries"`
	// Jitter spreads each wait by ± this fraction. Default 0.1.
	Jitter float64 `yaml:"jitter"`
	// PollInterval is how often the outbox and due retries are looked for
	// when nothing wakes the deliverer. Default 500ms.
	PollInterval time.Duration `yaml:"poll_interval"`
}

func (c *Config) setDefaults() {
	if c.Workers == 0 {
		c.Workers = 8
	}
	if c.PerTarget == 0 {
		c.PerTarget = 2
	}
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
	if c.Retries == nil {
		c.Retries = SpecRetries
	}
	if c.Jitter == 0 {
		c.Jitter = 0.1
	}
	if c.PollInterval == 0 {
		c.PollInterval = 500 * time.Millisecond
	}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	c.setDefaults()
	switch {
	case c.Workers < 1 || c.PerTarget < 1:
		return errors.New("webhooks.workers, webhooks.per_target: must be positive")
	case c.Timeout < 0 || c.PollInterval < 0:
		return errors.New("webhooks.timeout, webhooks.poll_interval: must be positive")
	case c.Jitter < 0 || c.Jitter >= 1:
		return errors.New("webhooks.jitter: must be from 0 to 1")
	}
	for _, r := range c.Retries {
		if r <= 0 {
			return errors.New("webhooks.retries: every wait must be positive")
		}
	}
	return nil
}

// Sessions tells where a session's own webhooks go; *session.Manager
// satisfies it. An empty URL means the session has no webhook_url.
type Sessions interface {
	WebhookTarget(ctx context.Context, sessionID string) (url, secret string, err error)
}

// Stats counts deliveries since start.
type Stats struct {
	Attempts  uint64 // requests sent
	Failures  uint64 // attempts that failed (each is retried or ends failed)
	Succeeded uint64 // deliveries a receiver accepted
	Failed    uint64 // deliveries given up after the last retry
}

// Service manages endpoints and delivers events.
type Service struct {
	cfg      Config
	store    *store.Store
	sessions Sessions
	log      *zap.Logger
	client   *http.Client
	kick     chan struct{}

	mu       sync.Mutex
	inflight map[string]int // target → deliveries being sent
	running  int

	attempts, failures, succeeded, failed atomic.Uint64
}

// New returns a service over st. sessions may be nil when no session has
// a webhook_url (tests of endpoints alone).
func New(cfg Config, st *store.Store, sessions Sessions, log *zap.Logger) (*Service, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	dialer := &net.Dialer{Timeout: cfg.Timeout}
	if !cfg.AllowPrivate {
		dialer.Control = refusePrivate
	}
	transport := &http.Transport{
		DialContext: dialer.DialContext, TLSHandshakeTimeout: cfg.Timeout,
		MaxIdleConnsPerHost: cfg.PerTarget, IdleConnTimeout: 90 * time.Second, ForceAttemptHTTP2: true,
	}
	return &Service{
		cfg: cfg, store: st, sessions: sessions, log: log, kick: make(chan struct{}, 1), inflight: map[string]int{},
		client: &http.Client{Transport: transport, Timeout: cfg.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}, nil
}

// Stats returns the delivery counters.
func (s *Service) Stats() Stats {
	return Stats{Attempts: s.attempts.Load(), Failures: s.failures.Load(), Succeeded: s.succeeded.Load(), Failed: s.failed.Load()}
}

// Backlog counts the events waiting to be dispatched plus the deliveries
// waiting to be sent or retried.
func (s *Service) Backlog(ctx context.Context) (int, error) {
	ev, del, err := s.store.WebhookBacklog(ctx)
	return ev + del, err
}

// Kick wakes the deliverer: events were written or a delivery is due.
func (s *Service) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Run dispatches and delivers until ctx is done, then waits for the
// attempts in flight (they are bounded by Timeout).
func (s *Service) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer s.client.CloseIdleConnections()
	defer wg.Wait()
	t := time.NewTicker(s.cfg.PollInterval)
	defer t.Stop()
	for {
		if err := s.dispatch(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("webhook dispatch failed", zap.Error(err))
		}
		if err := s.claim(ctx, &wg); err != nil && ctx.Err() == nil {
			s.log.Warn("webhook claim failed", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.kick:
		}
	}
}

// dispatch turns new outbox events into deliveries, a batch at a time.
func (s *Service) dispatch(ctx context.Context) error {
	for {
		events, err := s.store.PendingEvents(ctx, 100)
		if err != nil || len(events) == 0 {
			return err
		}
		for _, ev := range events {
			if err := s.dispatchEvent(ctx, ev); err != nil {
				return fmt.Errorf("event %s: %w", ev.ID, err)
			}
		}
		if len(events) < 100 {
			return nil
		}
	}
}

func (s *Service) dispatchEvent(ctx context.Context, ev store.Event) error {
	now := s.store.Now()
	newDelivery := func(target, url string) store.Delivery {
		return store.Delivery{ID: id.New(id.WebhookDelivery), Target: target, EventID: ev.ID, Scope: ev.Scope, URL: url,
			NextAttempt: now, Created: now}
	}
	var out []store.Delivery
	lq := store.ListQuery{Limit: 1000, Status: "enabled"}
	for {
		recs, more, err := s.store.List(ctx, store.WebhookEndpoints, ev.Scope, lq)
		if err != nil {
			return err
		}
		for _, r := range recs {
			e, err := decodeEndpoint(r)
			if err != nil {
				return err
			}
			if e.wants(ev.Type) {
				out = append(out, newDelivery(e.ID, e.URL))
			}
		}
		if !more {
			break
		}
		lq.StartingAfter = recs[len(recs)-1].ID
	}
	if ev.SessionID != "" && s.sessions != nil {
		url, _, err := s.sessions.WebhookTarget(ctx, ev.SessionID)
		if err != nil {
			return err
		}
		if url != "" {
			out = append(out, newDelivery(ev.SessionID, url))
		}
	}
	return s.store.Update(ctx, func(tx *store.Tx) error {
		for _, d := range out {
			if err := tx.AddDelivery(d); err != nil {
				return err
			}
		}
		return tx.MarkDispatched(ev.ID)
	})
}

// claim leases as many due deliveries as there are idle workers, at most
// PerTarget in flight to any one target, and sends each in its own goroutine.
func (s *Service) claim(ctx context.Context, wg *sync.WaitGroup) error {
	for {
		s.mu.Lock()
		free := s.cfg.Workers - s.running
		inflight := maps.Clone(s.inflight)
		s.mu.Unlock()
		if free <= 0 {
			return nil
		}
		ds, err := s.store.ClaimDeliveries(ctx, s.store.Now(), 2*s.cfg.Timeout, free, s.cfg.PerTarget, inflight)
		if err != nil || len(ds) == 0 {
			return err
		}
		for _, d := range ds {
			s.mu.Lock()
			s.inflight[d.Target]++
			s.running++
			s.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.deliver(ctx, d)
				s.mu.Lock()
				if s.inflight[d.Target]--; s.inflight[d.Target] == 0 {
					delete(s.inflight, d.Target)
				}
				s.running--
				s.mu.Unlock()
				s.Kick()
			}()
		}
	}
}

// envelope is the body of every webhook (SPEC §3).
type envelope struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	APIVersion string          `json:"api_version"`
	CreatedAt  time.Time       `json:"created_at"`
	Data       json.RawMessage `json:"data"`
}

// target is where one delivery goes and how it is signed.
type target struct {
	url, header string
	secrets     []string
	gone        string // why it cannot be delivered at all (endpoint deleted or disabled)
}

func (s *Service) resolve(ctx context.Context, d store.Delivery, now time.Time) (target, error) {
	if id.HasPrefix(d.Target, id.WebhookEndpoint) {
		rec, err := s.store.Lookup(ctx, store.WebhookEndpoints, d.Target)
		if errors.Is(err, store.ErrNotFound) {
			return target{gone: "endpoint deleted"}, nil
		}
		if err != nil {
			return target{}, err
		}
		e, err := decodeEndpoint(rec)
		if err != nil {
			return target{}, err
		}
		if !e.Enabled {
			return target{gone: "endpoint disabled"}, nil
		}
		return target{url: e.URL, header: e.SignatureHeader, secrets: e.secrets(now)}, nil
	}
	if s.sessions == nil {
		return target{gone: "no session webhooks here"}, nil
	}
	url, secret, err := s.sessions.WebhookTarget(ctx, d.Target)
	if err != nil {
		return target{}, err
	}
	if url == "" {
		return target{gone: "session has no webhook_url"}, nil
	}
	return target{url: url, header: DefaultSignatureHeader, secrets: []string{secret}}, nil
}

// deliver makes one attempt and records its outcome.
func (s *Service) deliver(ctx context.Context, d store.Delivery) {
	now := s.store.Now()
	tg, err := s.resolve(ctx, d, now)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("webhook target not resolved", zap.String("delivery_id", d.ID), zap.Error(err))
		}
		return // the lease runs out and the delivery is tried again
	}
	a := store.Attempt{At: now}
	if tg.gone != "" {
		a.Status, a.Error, a.Next = store.DeliveryFailed, tg.gone, now
		s.failed.Add(1)
	} else {
		a.ResponseStatus, err = s.post(ctx, d, tg, now)
		s.attempts.Add(1)
		switch {
		case err == nil:
			a.Status, a.Next = store.DeliverySucceeded, now
			s.succeeded.Add(1)
		case ctx.Err() != nil:
			return // shutting down mid-send: the lease runs out, the delivery is retried
		default:
			s.failures.Add(1)
			a.Error = err.Error()
			if d.Attempts < len(s.cfg.Retries) {
				a.Status, a.Next = store.DeliveryPending, now.Add(s.jitter(s.cfg.Retries[d.Attempts]))
			} else {
				a.Status, a.Next = store.DeliveryFailed, now
				s.failed.Add(1)
			}
		}
	}
	// Record even when shutting down: the outcome is known.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.store.RecordAttempt(rctx, d.ID, a); err != nil {
		s.log.Warn("webhook attempt not recorded", zap.String("delivery_id", d.ID), zap.Error(err))
	}
	if a.Status == store.DeliveryFailed {
		s.log.Warn("webhook delivery failed", zap.String("delivery_id", d.ID), zap.String("target", d.Target),
			zap.String("event_id", d.EventID), zap.String("error", a.Error))
	}
}

func (s *Service) jitter(d time.Duration) time.Duration {
	f := 1 + s.cfg.Jitter*(2*rand.Float64()-1)
	return time.Duration(float64(d) * f)
}

// post sends the signed envelope and reports the response status; any
// non-2xx status is an error.
func (s *Service) post(ctx context.Context, d store.Delivery, tg target, now time.Time) (int, error) {
	body, err := json.Marshal(envelope{ID: d.EventID, Type: d.EventType, APIVersion: "v1", CreatedAt: d.EventCreated, Data: d.EventData})
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tg.url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "voxgate-webhook/1")
	req.Header.Set("Voxgate-Webhook-Id", d.ID)
	req.Header.Set("Voxgate-Retry-Count", strconv.Itoa(d.Attempts))
	req.Header.Set(tg.header, Sign(now, body, tg.secrets...))
	res, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return res.StatusCode, fmt.Errorf("receiver answered %d", res.StatusCode)
	}
	return res.StatusCode, nil
}
