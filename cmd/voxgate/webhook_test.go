package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voxgate/voxgate/webhook"
)

// A gateway killed with SIGKILL while deliveries are in flight sends them
// after it restarts: nothing is lost.
func TestWebhooksSurviveSIGKILL(t *testing.T) {
	dir := t.TempDir()
	yml := dir + "/voxgate.yaml"
	if err := os.WriteFile(yml, []byte("webhooks:\n  timeout: 1s\n  poll_interval: 50ms\n  retries: [100ms, 200ms, 300ms]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		secret  string
		got     = map[string]bool{} // session IDs whose session.created arrived
		hanging = true
	)
	inFlight := make(chan struct{}, 1)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		hang, sec := hanging, secret
		mu.Unlock()
		if hang {
			select {
			case inFlight <- struct{}{}:
			default:
			}
			<-r.Context().Done() // the sender dies mid-request
			return
		}
		if err := webhook.Verify(r.Header.Get("Voxgate-Signature"), body, sec, time.Now()); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		var ev struct{ Data struct{ ID string } }
		_ = json.Unmarshal(body, &ev)
		mu.Lock()
		got[ev.Data.ID] = true // the session the event is about
		mu.Unlock()
	}))
	defer rc.Close()

	args := []string{"--config", yml, "--webhook-allow-private"}
	p := startServe(t, dir, append([]string{"--dev-key"}, args...)...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	api := restClient{t: t, ctx: ctx, base: p.base, key: p.devKey(t)}
	ep := api.object("POST", "/v1/webhook_endpoints", `{"url":"`+rc.URL+`","events":["session.created"]}`)
	mu.Lock()
	secret = ep["secret"].(string)
	mu.Unlock()
	var sessions []string
	for range 5 {
		sessions = append(sessions, api.object("POST", "/v1/sessions", `{"mode":"media_stream"}`)["id"].(string))
	}
	select {
	case <-inFlight:
	case <-time.After(30 * time.Second):
		t.Fatal("no delivery started")
	}
	if err := p.cmd.Process.Kill(); err != nil { // SIGKILL mid-delivery
		t.Fatal(err)
	}
	<-p.done
	mu.Lock()
	hanging = false
	mu.Unlock()

	q := startServe(t, dir, args...)
	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == len(sessions) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events delivered after the restart", n, len(sessions))
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	for _, sid := range sessions {
		if !got[sid] {
			t.Fatalf("session.created of %s never arrived", sid)
		}
	}
	mu.Unlock()
	res, err := http.Get(q.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, m := range []string{"voxgate_webhook_backlog", "voxgate_webhook_attempts_total", "voxgate_webhook_attempt_failures_total"} {
		if !strings.Contains(string(metrics), m) {
			t.Fatalf("/metrics lacks %s", m)
		}
	}
}
