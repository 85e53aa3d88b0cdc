package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voxgate/voxgate/id"
	"github.com/voxgate/voxgate/store"
	"github.com/voxgate/voxgate/store/storetest"
	"github.com/voxgate/voxgate/webhook"
)

// verify is a receiver's check written from the documentation alone: the
// header is "t=<unix>,v1=<hex>[,v1=…]", the MAC is HMAC-SHA256(secret,
// "<t>.<raw body>"), and a timestamp more than 300 s away is stale.
func verify(header string, body []byte, secret string) error {
	var ts string
	var sigs []string
	for _, kv := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("no timestamp")
	}
	if d := time.Since(time.Unix(t, 0)); d > 300*time.Second || d < -300*time.Second {
		return errors.New("stale timestamp")
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "." + string(body)))
	want := hex.EncodeToString(m.Sum(nil))
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return errors.New("bad signature")
}

// receiver is a real HTTP server that accepts only correctly signed
// webhooks and remembers what it got.
type receiver struct {
	t      *testing.T
	header string // the signature header it reads
	ln     net.Listener
	srv    *http.Server
	addr   string

	mu      sync.Mutex
	secrets []string
	got     map[string]int // evt_ id → times received
	types   map[string]string
	retries []string // Voxgate-Retry-Count of every request
	sigs    []string // signature headers of accepted requests
	bodies  [][]byte // their bodies
	// fault, when set, answers a request instead of the receiver.
	fault   func(w http.ResponseWriter, r *http.Request) bool
	stale   int // requests refused for a stale timestamp
	arrived chan struct{}
}

func newReceiver(t *testing.T, header string, secrets ...string) *receiver {
	rc := &receiver{t: t, header: header, secrets: secrets, got: map[string]int{}, types: map[string]string{}, arrived: make(chan struct{}, 1)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rc.addr = ln.Addr().String()
	rc.serve(ln)
	t.Cleanup(rc.close)
	return rc
}

func (rc *receiver) url() string { return "http://" + rc.addr + "/hook" }

func (rc *receiver) serve(ln net.Listener) {
	rc.ln = ln
	rc.srv = &http.Server{Handler: rc, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = rc.srv.Serve(ln) }()
}

func (rc *receiver) close() { _ = rc.srv.Close() }

// reopen listens again on the same address after close.
func (rc *receiver) reopen() {
	for i := 0; ; i++ {
		ln, err := net.Listen("tcp", rc.addr)
		if err == nil {
			rc.serve(ln)
			return
		}
		if i > 100 {
			rc.t.Fatalf("relisten: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (rc *receiver) setSecrets(s ...string) {
	rc.mu.Lock()
	rc.secrets = s
	rc.mu.Unlock()
}

func (rc *receiver) setFault(f func(w http.ResponseWriter, r *http.Request) bool) {
	rc.mu.Lock()
	rc.fault = f
	rc.mu.Unlock()
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	fault, secrets := rc.fault, rc.secrets
	rc.retries = append(rc.retries, r.Header.Get("Voxgate-Retry-Count"))
	rc.mu.Unlock()
	if fault != nil && fault(w, r) {
		return
	}
	sig := r.Header.Get(rc.header)
	var err error
	for _, s := range secrets {
		if err = verify(sig, body, s); err == nil {
			break
		}
	}
	if err != nil {
		rc.mu.Lock()
		if err.Error() == "stale timestamp" {
			rc.stale++
		}
		rc.mu.Unlock()
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var ev struct {
		ID, Type   string
		APIVersion string `json:"api_version"`
		Data       json.RawMessage
	}
	if err := json.Unmarshal(body, &ev); err != nil || !id.HasPrefix(ev.ID, id.Event) || ev.APIVersion != "v1" {
		http.Error(w, "bad envelope", http.StatusBadRequest)
		return
	}
	if !id.HasPrefix(r.Header.Get("Voxgate-Webhook-Id"), id.WebhookDelivery) {
		http.Error(w, "no Voxgate-Webhook-Id", http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.got[ev.ID]++
	rc.types[ev.ID] = ev.Type
	rc.sigs = append(rc.sigs, sig)
	rc.bodies = append(rc.bodies, body)
	rc.mu.Unlock()
	select {
	case rc.arrived <- struct{}{}:
	default:
	}
	w.WriteHeader(http.StatusNoContent)
}

// events returns the distinct events received.
func (rc *receiver) events() map[string]string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := map[string]string{}
	for k, v := range rc.types {
		out[k] = v
	}
	return out
}

// waitFor waits until every event in want has arrived, failing after 30 s.
func (rc *receiver) waitFor(want map[string]string) {
	rc.t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		got := rc.events()
		missing := 0
		for k := range want {
			if _, ok := got[k]; !ok {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		select {
		case <-rc.arrived:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			rc.t.Fatalf("%s: %d of %d events missing", rc.url(), missing, len(want))
		}
	}
}

var scope = store.Scope{OrgID: "org_test", Livemode: true}

// fast is a configuration that runs the retry schedule in well under a second.
func fast() webhook.Config {
	return webhook.Config{AllowPrivate: true, Timeout: 2 * time.Second, PollInterval: 20 * time.Millisecond,
		Retries: []time.Duration{20 * time.Millisecond, 40 * time.Millisecond, 60 * time.Millisecond, 80 * time.Millisecond,
			100 * time.Millisecond, 150 * time.Millisecond, 200 * time.Millisecond}}
}

// start runs a service on st until the test ends.
func start(t *testing.T, st *store.Store, cfg webhook.Config) *webhook.Service {
	t.Helper()
	svc, err := webhook.New(cfg, st, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { svc.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return svc
}

// emit writes events of the types to the outbox, as state changes do.
func emit(t *testing.T, st *store.Store, types ...string) []string {
	t.Helper()
	var ids []string
	err := st.Update(context.Background(), func(tx *store.Tx) error {
		for i, typ := range types {
			ev := store.Event{ID: id.New(id.Event), Scope: scope, Type: typ, Data: []byte(fmt.Sprintf(`{"n":%d}`, i)), Created: tx.Now()}
			ids = append(ids, ev.ID)
			if err := tx.AddEvent(ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func create(t *testing.T, svc *webhook.Service, url string, events []string, header string) webhook.Endpoint {
	t.Helper()
	p := webhook.EndpointParams{URL: &url, Events: &events}
	if header != "" {
		p.SignatureHeader = &header
	}
	ep, err := svc.Create(context.Background(), scope, p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ep.Secret, "whsec_") || !id.HasPrefix(ep.ID, id.WebhookEndpoint) {
		t.Fatalf("endpoint %+v", ep)
	}
	return ep
}

func forEachEngine(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) { t.Parallel(); fn(t, storetest.Open(t, e)) })
	}
}

// Each of three endpoints gets exactly the events it subscribed to, signed
// for its own header; one reads Kallglot-Signature as a Kallglot receiver does.
func TestEndpointsGetTheirEvents(t *testing.T) {
	forEachEngine(t, func(t *testing.T, st *store.Store) {
		svc := start(t, st, fast())
		all := newReceiver(t, "Voxgate-Signature")
		sessions := newReceiver(t, "Voxgate-Signature")
		kallglot := newReceiver(t, "Kallglot-Signature")
		all.setSecrets(create(t, svc, all.url(), []string{"*"}, "").Secret)
		sessions.setSecrets(create(t, svc, sessions.url(), []string{"session.created", "session.ended"}, "").Secret)
		kallglot.setSecrets(create(t, svc, kallglot.url(), []string{"call.answered", "dtmf.received"}, "Kallglot-Signature").Secret)

		types := []string{"session.created", "call.ringing", "call.answered", "dtmf.received", "call.ended", "session.ended"}
		var sent []string
		for range 10 {
			sent = append(sent, types...)
		}
		ids := emit(t, st, sent...)
		want := map[*receiver]map[string]string{all: {}, sessions: {}, kallglot: {}}
		for i, evID := range ids {
			want[all][evID] = sent[i]
			switch sent[i] {
			case "session.created", "session.ended":
				want[sessions][evID] = sent[i]
			case "call.answered", "dtmf.received":
				want[kallglot][evID] = sent[i]
			}
		}
		for rc, w := range want {
			rc.waitFor(w)
			if got := rc.events(); len(got) != len(w) {
				t.Fatalf("%s got %d events, want exactly %d", rc.url(), len(got), len(w))
			}
			for k, typ := range rc.events() {
				if w[k] != typ {
					t.Fatalf("%s got %s %s it did not subscribe to", rc.url(), typ, k)
				}
			}
		}
		waitBacklog(t, svc, 0)
	})
}

func waitBacklog(t *testing.T, svc *webhook.Service, want int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, err := svc.Backlog(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("backlog %d, want %d", n, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A receiver that answers 500, then hangs past the timeout, then refuses
// connections, then recovers gets every delivery in the end.
func TestFaultsAreRetriedUntilDelivered(t *testing.T) {
	forEachEngine(t, func(t *testing.T, st *store.Store) {
		cfg := fast()
		cfg.Timeout = 300 * time.Millisecond
		svc := start(t, st, cfg)
		rc := newReceiver(t, "Voxgate-Signature")
		rc.setSecrets(create(t, svc, rc.url(), []string{"*"}, "").Secret)

		var mu sync.Mutex
		seen := map[string]int{}
		hang := make(chan struct{})
		defer close(hang)
		phase := make(chan string, 16)
		rc.setFault(func(w http.ResponseWriter, r *http.Request) bool {
			mu.Lock()
			id := r.Header.Get("Voxgate-Webhook-Id")
			seen[id]++
			n := seen[id]
			mu.Unlock()
			switch n {
			case 1:
				phase <- "500"
				w.WriteHeader(http.StatusInternalServerError)
				return true
			case 2:
				phase <- "hang"
				select { // past the 300 ms timeout
				case <-hang:
				case <-r.Context().Done():
				}
				return true
			}
			return false
		})
		ids := emit(t, st, "session.created", "call.answered", "session.ended")
		want := map[string]string{ids[0]: "session.created", ids[1]: "call.answered", ids[2]: "session.ended"}
		// Wait for the first hang, then refuse connections for a while.
		for p := range phase {
			if p == "hang" {
				break
			}
		}
		rc.close()
		before := svc.Stats().Failures
		for svc.Stats().Failures < before+3 {
			time.Sleep(10 * time.Millisecond)
		}
		rc.reopen()
		rc.waitFor(want)
		waitBacklog(t, svc, 0)
		stats := svc.Stats()
		if stats.Failures < 6 || stats.Succeeded < 3 {
			t.Fatalf("stats %+v: the faults were not seen", stats)
		}
	})
}

// After the last retry a delivery is failed; each attempt says how many came before.
func TestRetriesRunOut(t *testing.T) {
	forEachEngine(t, func(t *testing.T, st *store.Store) {
		cfg := fast()
		cfg.Retries = cfg.Retries[:2]
		svc := start(t, st, cfg)
		rc := newReceiver(t, "Voxgate-Signature")
		ep := create(t, svc, rc.url(), []string{"*"}, "")
		rc.setFault(func(w http.ResponseWriter, r *http.Request) bool { w.WriteHeader(503); return true })
		emit(t, st, "session.created")
		var ds []webhook.Delivery
		for deadline := time.Now().Add(20 * time.Second); ; {
			var err error
			ds, _, err = svc.Deliveries(context.Background(), scope, ep.ID, store.ListQuery{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(ds) == 1 && ds[0].Status == store.DeliveryFailed {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("deliveries %+v", ds)
			}
			time.Sleep(20 * time.Millisecond)
		}
		d := ds[0]
		if d.Attempts != 3 || d.ResponseStatus == nil || *d.ResponseStatus != 503 || d.NextAttemptAt != nil || d.EventType != "session.created" {
			t.Fatalf("delivery %+v", d)
		}
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if strings.Join(rc.retries, ",") != "0,1,2" {
			t.Fatalf("Voxgate-Retry-Count %v", rc.retries)
		}
		if svc.Stats().Failed != 1 {
			t.Fatalf("stats %+v", svc.Stats())
		}
	})
}

// Inside a rotation window both secrets verify; after it only the new one.
func TestRotation(t *testing.T) {
	forEachEngine(t, func(t *testing.T, st *store.Store) {
		var clock atomicClock
		clock.set(time.Now())
		st.SetClock(clock.now)
		svc := start(t, st, fast())
		rc := newReceiver(t, "Voxgate-Signature")
		ep := create(t, svc, rc.url(), []string{"*"}, "")
		old := ep.Secret
		window := 60
		rot, err := svc.RotateSecret(context.Background(), scope, ep.ID, webhook.RotateParams{ExpiresInSeconds: &window})
		if err != nil {
			t.Fatal(err)
		}
		if rot.Secret == old || rot.PreviousSecretExpiresAt == nil {
			t.Fatalf("rotation %+v", rot)
		}
		if got, _ := svc.Get(context.Background(), scope, ep.ID); got.Secret != "" {
			t.Fatal("GET shows the secret")
		}
		check := func(wantOld bool) {
			t.Helper()
			rc.mu.Lock()
			rc.secrets = []string{old, rot.Secret}
			rc.sigs = nil
			rc.mu.Unlock()
			ids := emit(t, st, "session.created")
			rc.waitFor(map[string]string{ids[0]: "session.created"})
			rc.mu.Lock()
			sig, body := rc.sigs[len(rc.sigs)-1], rc.bodies[len(rc.bodies)-1]
			rc.mu.Unlock()
			if err := verify(sig, body, rot.Secret); err != nil {
				t.Fatalf("the new secret does not verify: %v", err)
			}
			if err := verify(sig, body, old); (err == nil) != wantOld {
				t.Fatalf("old secret verifies: %v, want %v", err == nil, wantOld)
			}
		}
		check(true)
		clock.set(clock.now().Add(61 * time.Second))
		check(false)
	})
}

type atomicClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *atomicClock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *atomicClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// One endpoint that hangs holds none of the deliveries to another.
func TestSlowEndpointHoldsNoOther(t *testing.T) {
	forEachEngine(t, func(t *testing.T, st *store.Store) {
		cfg := fast()
		cfg.Timeout = time.Minute
		svc := start(t, st, cfg)
		slow := newReceiver(t, "Voxgate-Signature")
		quick := newReceiver(t, "Voxgate-Signature")
		slow.setSecrets(create(t, svc, slow.url(), []string{"*"}, "").Secret)
		quick.setSecrets(create(t, svc, quick.url(), []string{"*"}, "").Secret)
		release := make(chan struct{})
		slow.setFault(func(w http.ResponseWriter, r *http.Request) bool {
			select {
			case <-release:
				return false
			case <-r.Context().Done():
				return true
			}
		})
		types := make([]string, 40)
		for i := range types {
			types[i] = "dtmf.received"
		}
		ids := emit(t, st, types...)
		want := map[string]string{}
		for _, k := range ids {
			want[k] = "dtmf.received"
		}
		quick.waitFor(want) // while every request to slow hangs
		if n := len(slow.events()); n != 0 {
			t.Fatalf("slow endpoint answered %d", n)
		}
		close(release)
		slow.waitFor(want)
	})
}

// Deliveries in flight when the deliverer stops are sent by the next one.
func TestRestartLosesNothing(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			cfg := e.Config(t)
			st := storetest.OpenConfig(t, cfg)
			c := fast()
			c.Timeout = 500 * time.Millisecond
			svc, err := webhook.New(c, st, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			rc := newReceiver(t, "Voxgate-Signature")
			rc.setSecrets(create(t, svc, rc.url(), []string{"*"}, "").Secret)
			inFlight := make(chan struct{}, 1)
			rc.setFault(func(w http.ResponseWriter, r *http.Request) bool {
				select {
				case inFlight <- struct{}{}:
				default:
				}
				<-r.Context().Done()
				return true
			})
			ids := emit(t, st, "session.created", "session.ended")
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { svc.Run(ctx); close(done) }()
			<-inFlight
			cancel()
			<-done
			st.Close()

			rc.setFault(nil)
			st2 := storetest.OpenConfig(t, cfg)
			start(t, st2, c)
			rc.waitFor(map[string]string{ids[0]: "session.created", ids[1]: "session.ended"})
		})
	}
}

func TestEndpointValidation(t *testing.T) {
	st := storetest.Open(t, storetest.Engines(t)[0])
	svc, err := webhook.New(webhook.Config{}, st, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		url    string
		events []string
		header string
		code   string
	}{
		{"http://127.0.0.1:9/hook", []string{"*"}, "", "url_not_allowed"},
		{"http://[::1]/hook", []string{"*"}, "", "url_not_allowed"},
		{"http://localhost/hook", []string{"*"}, "", "url_not_allowed"},
		{"https://10.1.2.3/hook", []string{"*"}, "", "url_not_allowed"},
		{"http://169.254.169.254/latest", []string{"*"}, "", "url_not_allowed"},
		{"ftp://example.com/x", []string{"*"}, "", "invalid_url"},
		{"example.com/x", []string{"*"}, "", "invalid_url"},
		{"https://user:pw@example.com/x", []string{"*"}, "", "invalid_url"},
		{"https://example.com/x", []string{"call.exploded"}, "", "unknown_event"},
		{"https://example.com/x", nil, "", "invalid_request"},
		{"https://example.com/x", []string{"*"}, "Content-Type", "invalid_request"},
		{"https://example.com/x", []string{"*"}, "bad header", "invalid_request"},
	} {
		p := webhook.EndpointParams{URL: &tc.url}
		if tc.events != nil {
			p.Events = &tc.events
		}
		if tc.header != "" {
			p.SignatureHeader = &tc.header
		}
		_, err := svc.Create(ctx, scope, p)
		var inv *webhook.InvalidError
		if !errors.As(err, &inv) || inv.Code != tc.code {
			t.Errorf("%s %v %q: %v, want %s", tc.url, tc.events, tc.header, err, tc.code)
		}
	}
	ok := "https://example.com/x"
	ep, err := svc.Create(ctx, scope, webhook.EndpointParams{URL: &ok, Events: &[]string{"call.ended", "*"}})
	if err != nil {
		t.Fatal(err)
	}
	off := false
	up, err := svc.Update(ctx, scope, ep.ID, webhook.EndpointParams{Enabled: &off})
	if err != nil || up.Enabled || up.URL != ok {
		t.Fatalf("update %+v %v", up, err)
	}
	if _, err := svc.Get(ctx, store.Scope{OrgID: "org_other", Livemode: true}, ep.ID); !errors.Is(err, webhook.ErrNotFound) {
		t.Fatalf("another org sees the endpoint: %v", err)
	}
	if err := svc.Delete(ctx, scope, ep.ID); err != nil {
		t.Fatal(err)
	}
	if err := svc.Delete(ctx, scope, ep.ID); !errors.Is(err, webhook.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

// A receiver rejects a signature whose timestamp is more than 300 s off;
// the delivery is retried and accepted once the sender's clock is right.
func TestStaleSignatureIsRejectedThenRetried(t *testing.T) {
	forEachEngine(t, func(t *testing.T, st *store.Store) {
		var clock atomicClock
		clock.set(time.Now().Add(-10 * time.Minute)) // the gateway's clock is 10 minutes slow
		st.SetClock(clock.now)
		svc := start(t, st, fast())
		rc := newReceiver(t, "Voxgate-Signature")
		rc.setSecrets(create(t, svc, rc.url(), []string{"*"}, "").Secret)
		ids := emit(t, st, "call.ringing")
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			rc.mu.Lock()
			stale := rc.stale
			rc.mu.Unlock()
			if stale > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no stale signature was refused")
			}
		}
		if len(rc.events()) != 0 {
			t.Fatal("a stale signature was accepted")
		}
		clock.set(time.Now())
		rc.waitFor(map[string]string{ids[0]: "call.ringing"})
	})
}
