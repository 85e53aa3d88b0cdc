package main

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/voxgate/voxgate/cluster/clustertest"
	"github.com/voxgate/voxgate/media/mediatest"
	"github.com/voxgate/voxgate/sip"
	"github.com/voxgate/voxgate/sip/siptest"
	"github.com/voxgate/voxgate/store/storetest"
	"github.com/voxgate/voxgate/stream"
)

// clusterNode is one voxgate serve of a cluster test.
type clusterNode struct {
	*process
	sip string // its SIP address
}

// TestClusterOfThreeNodes runs three nodes on one PostgreSQL and one Redis.
// A session created through node A is placed on B (the node with the most
// room); a call for it sent to A is redirected to B; a phone calls its
// sip_uri on B, a subscriber connected through C
// hears the phone, and a hangup sent to A ends the call on B. One key's
// rate limit holds across the nodes, and an Idempotency-Key replays
// through any node. Then B is killed mid-call: a survivor
// ends its session with node_lost, the session.ended webhook arrives once,
// and A and C go on placing sessions that carry audio; once C drains, new
// sessions go to A, even when asked of C.
func TestClusterOfThreeNodes(t *testing.T) {
	if os.Getenv("VOXGATE_TEST_DATABASE_URL") == "" {
		t.Skip("VOXGATE_TEST_DATABASE_URL not set: cluster mode needs PostgreSQL (make test starts one)")
	}
	var dbURL string
	for _, e := range storetest.Engines(t) {
		if e.Name == "postgres" {
			dbURL = e.Config(t).DatabaseURL
		}
	}
	redisURL := clustertest.Redis(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	hooks := newHookReceiver()
	defer hooks.Close()

	yml := t.TempDir() + "/voxgate.yaml" // the phones call from a trunk's address
	if err := os.WriteFile(yml, []byte("trunks:\n  - {org: dev, name: local, inbound_cidrs: [127.0.0.1/32]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	start := func(name, capacity string) clusterNode {
		sipAt := sipAddr(t)
		p := startServe(t, t.TempDir(), "--dev-key", "--config", yml, "--database-url", dbURL, "--redis-url", redisURL, "--node-id", name,
			"--node-capacity", capacity, "--node-ttl", "1500ms", "--sip-addr", sipAt, "--webhook-allow-private")
		return clusterNode{p, sipAt}
	}
	a := start("a", "10")
	key := a.devKey(t) // minted once on the shared database
	b := start("b", "1000")
	c := start("c", "10")
	via := func(n clusterNode) restClient { return restClient{t: t, ctx: ctx, base: n.base, key: key} }

	// Placed through A on B: sip_uri and stream.url name B.
	sess := via(a).object("POST", "/v1/sessions", `{"mode":"media_stream","webhook_url":"`+hooks.URL+`"}`)
	sid := sess["id"].(string)
	streamURL := sess["stream"].(map[string]any)["url"].(string)
	if !strings.HasSuffix(sess["sip_uri"].(string), "@"+b.sip) || !strings.HasPrefix(streamURL, "ws"+strings.TrimPrefix(b.base, "http")+"/") {
		t.Fatalf("session created through A is not on B (%s, %s): sip_uri %s, stream.url %s", b.base, b.sip, sess["sip_uri"], streamURL)
	}

	// A call for it reaching A is redirected to B.
	stray := siptest.NewPhone(t, 0, 8000)
	if code := stray.Call(ctx, netip.MustParseAddrPort(a.sip), sid, stray.Offer(sip.Supported[0])); code != 302 {
		t.Fatalf("a call for B's session sent to A: %d, want 302 to B", code)
	}

	// A phone calls B; a subscriber connected through C hears it.
	phone := siptest.NewPhone(t, 0, 8000)
	if code := phone.Call(ctx, netip.MustParseAddrPort(b.sip), sid, phone.Offer(sip.Supported[0])); code != 200 {
		t.Fatalf("call to the session on B: %d", code)
	}
	stopTone := playTone(phone, 700)
	hearTone(t, ctx, c.base, sid, sess["stream"].(map[string]any)["token"].(string), 700)

	// Hangup through A ends the call on B, as C reads it from the database.
	via(a).object("POST", "/v1/sessions/"+sid+"/hangup", `{}`)
	for {
		call := via(c).object("GET", "/v1/sessions/"+sid+"/calls", "")["data"].([]any)[0].(map[string]any)
		if call["status"] == "ended" {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the call on B after a hangup sent to A: %v", call)
		case <-time.After(50 * time.Millisecond):
		}
	}
	stopTone()

	// A key allowed 4 requests a minute gets its 5th refused, on whichever
	// node it lands (retried once if a minute turned in between).
	limited := via(a).object("POST", "/v1/api_keys", `{"name":"limited","scopes":["sessions:read"],"rate_limit_per_minute":4}`)["secret"].(string)
	for attempt := 0; ; attempt++ {
		nodes := []clusterNode{a, b, c, a, b}
		var codes []int
		resets := map[string]bool{}
		for _, n := range nodes {
			req, _ := http.NewRequestWithContext(ctx, "GET", n.base+"/v1/sessions/"+sid, nil)
			req.Header.Set("Authorization", "Bearer "+limited)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			codes = append(codes, res.StatusCode)
			resets[res.Header.Get("X-RateLimit-Reset")] = true
		}
		if len(resets) > 1 && attempt == 0 {
			time.Sleep(time.Until(time.Now().Truncate(time.Minute).Add(time.Minute)) + 100*time.Millisecond)
			continue
		}
		if codes[3] != 200 || codes[4] != 429 {
			t.Fatalf("statuses across nodes with a limit of 4: %v", codes)
		}
		break
	}

	// An Idempotency-Key replays through another node, byte for byte.
	replay := func(n clusterNode) (*http.Response, []byte) {
		req, _ := http.NewRequestWithContext(ctx, "POST", n.base+"/v1/sessions", strings.NewReader(`{"mode":"media_stream"}`))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "cluster-once")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res, body
	}
	first, firstBody := replay(a)
	again, againBody := replay(c)
	if first.StatusCode != 201 || again.StatusCode != 201 || string(firstBody) != string(againBody) || again.Header.Get("Idempotency-Replayed") != "true" {
		t.Fatalf("idempotent create through A then C: %d %s / %d %s", first.StatusCode, firstBody, again.StatusCode, againBody)
	}

	// A second session on B, mid-call when B is killed.
	lost := via(c).object("POST", "/v1/sessions", `{"mode":"media_stream","webhook_url":"`+hooks.URL+`"}`)
	lostID := lost["id"].(string)
	if !strings.HasSuffix(lost["sip_uri"].(string), "@"+b.sip) {
		t.Fatalf("second session not on B: %s", lost["sip_uri"])
	}
	phone2 := siptest.NewPhone(t, 0, 8000)
	if code := phone2.Call(ctx, netip.MustParseAddrPort(b.sip), lostID, phone2.Offer(sip.Supported[0])); code != 200 {
		t.Fatalf("call to the second session: %d", code)
	}
	for { // answered, as any node reads it
		calls := via(a).object("GET", "/v1/sessions/"+lostID+"/calls", "")["data"].([]any)
		if len(calls) > 0 && calls[0].(map[string]any)["status"] == "answered" {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the call on B is not answered: %v", calls)
		case <-time.After(50 * time.Millisecond):
		}
	}
	if err := b.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-b.done
	for {
		s := via(a).object("GET", "/v1/sessions/"+lostID, "")
		if s["status"] == "ended" {
			if s["end_reason"] != "node_lost" {
				t.Fatalf("session of the killed node ended with %v", s["end_reason"])
			}
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the killed node's session is still %v", s["status"])
		case <-time.After(100 * time.Millisecond):
		}
	}
	hooks.waitEnded(t, ctx, lostID)
	call := via(c).object("GET", "/v1/sessions/"+lostID+"/calls", "")["data"].([]any)[0].(map[string]any)
	if call["status"] != "ended" || call["hangup_cause"] != "node_lost" {
		t.Fatalf("the killed node's call: %v", call)
	}

	// A and C serve on: a new session through C is on A or C and carries audio.
	next := via(c).object("POST", "/v1/sessions", `{"mode":"media_stream"}`)
	nextSIP := strings.TrimPrefix(next["sip_uri"].(string), "sip:"+next["id"].(string)+"@")
	if nextSIP != a.sip && nextSIP != c.sip {
		t.Fatalf("a new session after B's loss is at %s, not on A (%s) or C (%s)", nextSIP, a.sip, c.sip)
	}
	phone3 := siptest.NewPhone(t, 0, 8000)
	if code := phone3.Call(ctx, netip.MustParseAddrPort(nextSIP), next["id"].(string), phone3.Offer(sip.Supported[0])); code != 200 {
		t.Fatalf("call to the session placed after B's loss: %d", code)
	}
	defer playTone(phone3, 900)()
	hearTone(t, ctx, a.base, next["id"].(string), next["stream"].(map[string]any)["token"].(string), 900)

	if n := hooks.ended(lostID); n != 1 {
		t.Fatalf("session.ended delivered %d times for the lost session, want once", n)
	}

	// C drains (SIGTERM): from then on new sessions go to A. It holds a call
	// meanwhile, or it would stop at once (a node with no live call does).
	onC := next
	for !strings.HasSuffix(onC["sip_uri"].(string), "@"+c.sip) { // placement goes by the loads of the last heartbeats
		select {
		case <-ctx.Done():
			t.Fatalf("no session placed on C: the last at %s", onC["sip_uri"])
		case <-time.After(200 * time.Millisecond):
		}
		onC = via(c).object("POST", "/v1/sessions", `{"mode":"media_stream"}`)
	}
	if onC["id"] != next["id"] {
		phone4 := siptest.NewPhone(t, 0, 8000)
		if code := phone4.Call(ctx, netip.MustParseAddrPort(c.sip), onC["id"].(string), phone4.Offer(sip.Supported[0])); code != 200 {
			t.Fatalf("call to the session on C: %d", code)
		}
		for via(c).object("GET", "/v1/sessions/"+onC["id"].(string), "")["status"] != "active" { // its leg joined
			select {
			case <-ctx.Done():
				t.Fatal("the call on C never joined its session")
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for {
		if code, _ := via(c).call("GET", "/readyz", ""); code == 503 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("C is not draining after SIGTERM")
		case <-time.After(20 * time.Millisecond):
		}
	}
	if s := via(c).object("POST", "/v1/sessions", `{"mode":"media_stream"}`); !strings.HasSuffix(s["sip_uri"].(string), "@"+a.sip) {
		t.Fatalf("a session created while C drains is at %s, not on A", s["sip_uri"])
	}
}

// playTone makes the phone send a tone until the returned func is called.
func playTone(p *siptest.Phone, freq float64) (stop func()) {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-done:
				return
			default:
				p.SendTone(freq, 200*time.Millisecond)
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done); <-stopped }) }
}

// hearTone connects a subscriber through the node at base and checks it
// hears the customer's tone at freq.
func hearTone(t *testing.T, ctx context.Context, base, sid, token string, freq float64) {
	t.Helper()
	u, _ := stream.ConnectURL(base, sid, token, url.Values{"audio": {"pcm16_16000"}})
	sub, err := stream.Dial(ctx, u)
	if err != nil {
		t.Fatalf("subscriber through %s: %v", base, err)
	}
	defer sub.Close()
	var heard []int16
	for len(heard) < 16000 {
		raw, err := sub.Read()
		if err != nil {
			t.Fatalf("subscriber: %v (heard %d samples)", err, len(heard))
		}
		var m struct {
			Type, Speaker string
			Audio         struct{ Payload string }
		}
		if json.Unmarshal(raw, &m) != nil || m.Type != "audio.output" || m.Speaker != "customer" {
			continue
		}
		b, _ := base64.StdEncoding.DecodeString(m.Audio.Payload)
		for i := 0; i+1 < len(b); i += 2 {
			heard = append(heard, int16(binary.LittleEndian.Uint16(b[i:])))
		}
	}
	mediatest.CheckTone(t, heard[8000:], 16000, mediatest.ToneWant{Freq: freq, Level: -10, MinSNR: 20})
}

// hookReceiver counts the session.ended webhooks per session.
type hookReceiver struct {
	*httptest.Server
	mu    sync.Mutex
	ends  map[string]int
	event chan struct{}
}

func newHookReceiver() *hookReceiver {
	h := &hookReceiver{ends: map[string]int{}, event: make(chan struct{}, 100)}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev struct {
			Type string
			Data struct{ ID string }
		}
		if json.Unmarshal(body, &ev) == nil && ev.Type == "session.ended" {
			h.mu.Lock()
			h.ends[ev.Data.ID]++
			h.mu.Unlock()
			select {
			case h.event <- struct{}{}:
			default:
			}
		}
	}))
	return h
}

func (h *hookReceiver) ended(sid string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ends[sid]
}

func (h *hookReceiver) waitEnded(t *testing.T, ctx context.Context, sid string) {
	t.Helper()
	for h.ended(sid) == 0 {
		select {
		case <-h.event:
		case <-ctx.Done():
			t.Fatalf("no session.ended webhook for %s", sid)
		}
	}
}
