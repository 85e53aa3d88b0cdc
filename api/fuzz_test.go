package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/voxgate/voxgate/api"
	"github.com/voxgate/voxgate/id"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/store"
	"github.com/voxgate/voxgate/store/storetest"
)

// fuzzServer is an in-process API over SQLite for fuzzing request bodies.
func fuzzServer(f *testing.F) (http.Handler, string) {
	st := storetest.OpenConfig(f, store.Config{DataDir: f.TempDir()})
	mgr, err := session.NewManager(session.Config{PublicURL: "http://127.0.0.1:8080", SIPHost: "127.0.0.1", MaxConcurrentSessions: 1 << 30}, st, nil)
	if err != nil {
		f.Fatal(err)
	}
	srv, err := api.New(api.Options{Config: api.Config{RateLimitPerMinute: 1 << 30}, Store: st, Sessions: mgr, Registry: prometheus.NewRegistry()})
	if err != nil {
		f.Fatal(err)
	}
	org, err := st.EnsureOrg(context.Background(), id.New(id.Organization), "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	k, err := api.MintKey(context.Background(), st, org.ID, api.NewKeyParams{Scopes: api.Scopes})
	if err != nil {
		f.Fatal(err)
	}
	return srv, k.Secret
}

// fuzzBody posts body to path and checks the answer is a success or a
// well-formed error envelope with a client status: never a panic, never a 500.
func fuzzBody(t *testing.T, h http.Handler, key, method, path string, body []byte, ok int) {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code == ok {
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%d with invalid JSON: %s", rec.Code, rec.Body)
		}
		return
	}
	if rec.Code >= 500 || rec.Code < 400 {
		t.Fatalf("status %d for body %q: %s", rec.Code, body, rec.Body)
	}
	var raw map[string]map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil || raw["error"] == nil {
		t.Fatalf("status %d without an envelope: %s", rec.Code, rec.Body)
	}
	for _, f := range []string{"type", "code", "message", "request_id"} {
		if s, _ := raw["error"][f].(string); s == "" {
			t.Fatalf("envelope lacks %s: %s", f, rec.Body)
		}
	}
}

func FuzzCreateSession(f *testing.F) {
	for _, s := range []string{
		`{"mode":"media_stream"}`,
		`{"mode":"transcription","source_language":"en","recording":{"enabled":true,"channels":"dual"}}`,
		`{"mode":"bidirectional_translation","source_language":"en","target_language":"es"}`,
		`{"mode":"ai_agent","stream_url":"wss://x.example/ws","stream_protocol":"twilio","metadata":{"a":[1,2]}}`,
		`{"mode":"media_stream","routing":{"type":"sip","sip":{"from_uri":"sip:a@b","headers":{"X-A":"1"}},"direction":"inbound"}}`,
		`{"mode":"media_stream","routing":{"phone_number":"+14155550100"},"webhook_url":"https://h.example/x"}`,
		`{"mode":1}`, `[]`, `{"mode":"media_stream","metadata":"x"}`, `{`, ``, `null`,
	} {
		f.Add([]byte(s))
	}
	h, key := fuzzServer(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzBody(t, h, key, "POST", "/v1/sessions", body, http.StatusCreated)
	})
}

func FuzzCreateAgent(f *testing.F) {
	for _, s := range []string{
		`{"name":"a"}`,
		`{"name":"a","tools":[{"name":"t","parameters":{"type":"object"}}],"temperature":1.5}`,
		`{"name":"a","llm":{"base_url":"http://127.0.0.1/v1","model":"m","api_key":"k"}}`,
		`{"name":"a","stream_url":"ws://x","stream_protocol":"voxgate","status":"inactive"}`,
		`{"name":5}`, `{"tools":{}}`, `{"name":"a","metadata":[]}`, `"x"`,
	} {
		f.Add([]byte(s))
	}
	h, key := fuzzServer(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzBody(t, h, key, "POST", "/v1/agents", body, http.StatusCreated)
	})
}
