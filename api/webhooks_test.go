package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/voxgate/voxgate/api"
	"github.com/voxgate/voxgate/id"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/store"
	"github.com/voxgate/voxgate/store/storetest"
	"github.com/voxgate/voxgate/webhook"
)

func TestWebhookEndpointRoutes(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e storetest.Engine) {
		g := startGateway(t, e.Config(t), options{webhooks: &webhook.Config{}})
		key := g.key(true)

		// SSRF: loopback and private addresses are refused by default.
		for _, u := range []string{"http://127.0.0.1:8080/hook", "http://localhost/x", "http://192.168.1.10/x", "http://[::1]/x"} {
			r := g.do("POST", "/v1/webhook_endpoints", key, fmt.Sprintf(`{"url":%q,"events":["*"]}`, u)).want(t, 400)
			if r.errorCode(t) != "url_not_allowed" || r.errorField(t, "param") != "url" {
				t.Fatalf("%s: %s", u, r.body)
			}
		}
		if c := g.do("POST", "/v1/webhook_endpoints", key, `{"url":"https://example.com/h","events":["call.exploded"]}`).want(t, 400).errorCode(t); c != "unknown_event" {
			t.Fatalf("unknown event: %s", c)
		}
		if c := g.do("POST", "/v1/webhook_endpoints", key, `{"url":"ftp://example.com/h","events":["*"]}`).want(t, 400).errorCode(t); c != "invalid_url" {
			t.Fatalf("ftp url: %s", c)
		}
		if c := g.do("POST", "/v1/webhook_endpoints", key, `{"url":"https://example.com/h","events":"*"}`).want(t, 400).errorCode(t); c != "invalid_request" {
			t.Fatalf("events as a string: %s", c)
		}

		created := g.do("POST", "/v1/webhook_endpoints", key,
			`{"url":"https://example.com/hook","events":["session.ended","call.answered"],"signature_header":"Kallglot-Signature","description":"crm"}`).want(t, 201).json(t)
		epID, _ := created["id"].(string)
		secret, _ := created["secret"].(string)
		if !id.HasPrefix(epID, id.WebhookEndpoint) || len(secret) < 20 || created["enabled"] != true ||
			created["signature_header"] != "Kallglot-Signature" || created["object"] != "webhook_endpoint" {
			t.Fatalf("created %v", created)
		}
		got := g.do("GET", "/v1/webhook_endpoints/"+epID, key, "").want(t, 200).json(t)
		if _, ok := got["secret"]; ok {
			t.Fatalf("GET shows the secret: %v", got)
		}
		patched := g.do("PATCH", "/v1/webhook_endpoints/"+epID, key, `{"enabled":false,"events":["*"]}`).want(t, 200).json(t)
		if patched["enabled"] != false || patched["url"] != "https://example.com/hook" {
			t.Fatalf("patched %v", patched)
		}
		rot := g.do("POST", "/v1/webhook_endpoints/"+epID+"/rotate_secret", key, `{"expires_in_seconds":3600}`).want(t, 200).json(t)
		if rot["secret"] == secret || rot["secret"] == nil || rot["previous_secret_expires_at"] == nil {
			t.Fatalf("rotated %v", rot)
		}
		g.do("POST", "/v1/webhook_endpoints/"+epID+"/rotate_secret", key, `{"expires_in_seconds":-1}`).want(t, 400)
		list := g.do("GET", "/v1/webhook_endpoints", key, "").want(t, 200).json(t)
		if data := list["data"].([]any); len(data) != 1 || data[0].(map[string]any)["id"] != epID {
			t.Fatalf("list %v", list)
		}
		g.do("GET", "/v1/webhook_endpoints/"+epID+"/deliveries?status=lost", key, "").want(t, 400)
		g.do("GET", "/v1/webhook_endpoints/"+epID+"/deliveries", key, "").want(t, 200)

		// Scopes and organizations.
		if c := g.do("POST", "/v1/webhook_endpoints", g.key(true, "webhooks:read"), `{"url":"https://example.com/h","events":["*"]}`).want(t, 403).errorCode(t); c != "insufficient_permissions" {
			t.Fatal(c)
		}
		other, err := g.store.EnsureOrg(context.Background(), id.New(id.Organization), "other")
		if err != nil {
			t.Fatal(err)
		}
		live := true
		v, err := api.MintKey(context.Background(), g.store, other.ID, api.NewKeyParams{Scopes: api.Scopes, Livemode: &live})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"", "/deliveries"} {
			if c := g.do("GET", "/v1/webhook_endpoints/"+epID+p, v.Secret, "").want(t, 404).errorCode(t); c != "webhook_endpoint_not_found" {
				t.Fatal(c)
			}
		}
		g.do("DELETE", "/v1/webhook_endpoints/"+epID, v.Secret, "").want(t, 404)
		g.do("DELETE", "/v1/webhook_endpoints/"+epID, key, "").want(t, 200)
		g.do("GET", "/v1/webhook_endpoints/"+epID, key, "").want(t, 404)
	})
}

// signedReceiver accepts webhooks signed with its secret and collects their
// types. A webhook that comes before the test has given it the secret (a
// session's session.created can beat the response that holds the session's
// secret) waits for it, as a receiver that knows its secret would not
// need to; refused, it would be retried only a minute later.
type signedReceiver struct {
	srv     *httptest.Server
	header  string
	mu      sync.Mutex
	secret  string
	types   map[string]string // evt_ → type
	hasKey  chan struct{}     // closed by setSecret
	keyOnce sync.Once
}

func newSignedReceiver(t *testing.T, header string) *signedReceiver {
	rc := &signedReceiver{header: header, types: map[string]string{}, hasKey: make(chan struct{})}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		select {
		case <-rc.hasKey:
		case <-time.After(10 * time.Second):
		}
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if err := webhook.Verify(r.Header.Get(rc.header), body, rc.secret, time.Now()); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		var ev struct{ ID, Type string }
		_ = json.Unmarshal(body, &ev)
		rc.types[ev.ID] = ev.Type
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *signedReceiver) setSecret(s string) {
	rc.mu.Lock()
	rc.secret = s
	rc.mu.Unlock()
	rc.keyOnce.Do(func() { close(rc.hasKey) })
}

// waitTypes waits until the receiver has events of every type in want.
func (rc *signedReceiver) waitTypes(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		rc.mu.Lock()
		have := map[string]bool{}
		for _, typ := range rc.types {
			have[typ] = true
		}
		rc.mu.Unlock()
		missing := ""
		for _, w := range want {
			if !have[w] {
				missing = w
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %s event arrived (have %v)", rc.srv.URL, missing, have)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A test event reaches the endpoint; a session's webhook_url gets that
// session's events signed with its webhook_secret.
func TestWebhookTestEventAndSessionWebhook(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e storetest.Engine) {
		g := startGateway(t, e.Config(t), options{webhooks: &webhook.Config{AllowPrivate: true, PollInterval: 20 * time.Millisecond}})
		key := g.key(true)
		ep := newSignedReceiver(t, "Kallglot-Signature")
		created := g.do("POST", "/v1/webhook_endpoints", key,
			fmt.Sprintf(`{"url":%q,"events":["session.ended"],"signature_header":"Kallglot-Signature"}`, ep.srv.URL)).want(t, 201).json(t)
		ep.setSecret(created["secret"].(string))
		epID := created["id"].(string)
		d := g.do("POST", "/v1/webhook_endpoints/"+epID+"/test", key, "").want(t, 202).json(t)
		if !id.HasPrefix(d["id"].(string), id.WebhookDelivery) || d["event_type"] != webhook.EventTest {
			t.Fatalf("test delivery %v", d)
		}
		ep.waitTypes(t, webhook.EventTest)

		own := newSignedReceiver(t, "Voxgate-Signature")
		sess := g.do("POST", "/v1/sessions", key, fmt.Sprintf(`{"mode":"media_stream","webhook_url":%q}`, own.srv.URL)).want(t, 201).json(t)
		own.setSecret(sess["webhook_secret"].(string))
		g.do("POST", "/v1/sessions/"+sess["id"].(string)+"/end", key, "").want(t, 200)
		own.waitTypes(t, "session.created", "session.ended")
		ep.waitTypes(t, "session.ended")
		ep.mu.Lock()
		n := len(ep.types)
		ep.mu.Unlock()
		if n != 2 {
			t.Fatalf("the endpoint got %d events, want the test and session.ended", n)
		}

		var log map[string]any
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			log = g.do("GET", "/v1/webhook_endpoints/"+epID+"/deliveries?status=succeeded", key, "").want(t, 200).json(t)
			if len(log["data"].([]any)) == 2 || time.Now().After(deadline) {
				break
			}
		}
		data := log["data"].([]any)
		if len(data) != 2 || data[0].(map[string]any)["event_type"] != "session.ended" || data[0].(map[string]any)["attempts"] != 1.0 {
			t.Fatalf("deliveries %v", log)
		}
	})
}

// 10,000 endpoints list page by page, each once, newest first.
func TestTenThousandEndpointsPaginate(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 10,000 endpoints")
	}
	forEachEngine(t, func(t *testing.T, e storetest.Engine) {
		g := startGateway(t, e.Config(t), options{webhooks: &webhook.Config{}})
		key := g.key(true)
		sc := store.Scope{OrgID: g.orgID, Livemode: true}
		const n = 10000
		url, events := "https://example.com/hook", []string{"*"}
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += 4 {
					if _, err := g.webhooks.Create(context.Background(), sc, webhook.EndpointParams{URL: &url, Events: &events}); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		prev, cursor, pages := "", "", 0
		for {
			path := "/v1/webhook_endpoints?limit=100"
			if cursor != "" {
				path += "&starting_after=" + cursor
			}
			page := g.do("GET", path, key, "").want(t, 200).json(t)
			pages++
			for _, d := range page["data"].([]any) {
				epID := d.(map[string]any)["id"].(string)
				if seen[epID] || (prev != "" && epID >= prev) {
					t.Fatalf("page %d: %s repeated or out of order", pages, epID)
				}
				seen[epID], prev = true, epID
			}
			if page["has_more"] != true {
				break
			}
			cursor = page["next_cursor"].(string)
		}
		if len(seen) != n || pages != n/100 {
			t.Fatalf("listed %d endpoints in %d pages, want %d in %d", len(seen), pages, n, n/100)
		}
	})
}

// A session's webhook_url follows the endpoints' SSRF rules.
func TestSessionWebhookURLRefusesLoopback(t *testing.T) {
	check := func(param, raw string) error { return webhook.CheckURL(param, raw, false) }
	g := startGateway(t, storetest.Engines(t)[0].Config(t), options{session: session.Config{CheckWebhookURL: check}})
	key := g.key(true)
	r := g.do("POST", "/v1/sessions", key, `{"mode":"media_stream","webhook_url":"http://127.0.0.1:9000/hook"}`).want(t, 400)
	if r.errorCode(t) != "url_not_allowed" || r.errorField(t, "param") != "webhook_url" {
		t.Fatalf("%s", r.body)
	}
	g.do("POST", "/v1/sessions", key, `{"mode":"media_stream","webhook_url":"https://example.com/hook"}`).want(t, 201)
}
