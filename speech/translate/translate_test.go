package translate

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func apertium(t testing.TB) *Apertium {
	t.Helper()
	a, err := NewApertium("")
	if err != nil {
		t.Fatal(err)
	}
	if !Supports(a.Pairs(), "en", "es") || !Supports(a.Pairs(), "es", "en") {
		t.Fatalf("apertium pairs %v: want en-es and es-en (make deps installs apertium-eng-spa)", a.Pairs())
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func TestApertiumEnglishSpanish(t *testing.T) {
	a := apertium(t)
	ctx := context.Background()
	cases := []struct{ from, to, in, want string }{
		{"en", "es", "Good morning, how can I help you today?", "Buenos días, cómo puede te ayudas hoy?"},
		{"en", "es", "I need help with my account.", "Necesito ayuda con mi cuenta."},
		{"es", "en", "Hola, necesito ayuda con mi cuenta.", "Hello, I need help with my account."},
		{"en-US", "es-MX", "Thank you for calling.", ""},
		{"en", "es", "a [bracket] and $dollar\x00 and\nnewline", ""},
		{"en", "es", "  ", ""},
	}
	for _, c := range cases {
		got, err := a.Translate(ctx, c.in, c.from, c.to)
		if err != nil {
			t.Fatalf("%q: %v", c.in, err)
		}
		t.Logf("%s→%s %q → %q", c.from, c.to, c.in, got)
		if c.want != "" && got != c.want {
			t.Errorf("%q: got %q, want %q", c.in, got, c.want)
		}
	}
	// The same pipeline keeps serving after odd input.
	if got, _ := a.Translate(ctx, "I need help with my account.", "en", "es"); got != "Necesito ayuda con mi cuenta." {
		t.Errorf("after odd input: %q", got)
	}
	if _, err := a.Translate(ctx, "hello", "en", "xx"); !errors.Is(err, ErrUnsupported) {
		t.Errorf("en-xx: %v, want ErrUnsupported", err)
	}
}

func TestApertiumCancelRestarts(t *testing.T) {
	a := apertium(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := a.Translate(ctx, "I need help with my account.", "en", "es"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	got, err := a.Translate(context.Background(), "I need help with my account.", "en", "es")
	if err != nil || got != "Necesito ayuda con mi cuenta." {
		t.Fatalf("after cancel: %q, %v", got, err)
	}
}

func TestApertiumModes(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "eng-cat.mode"), []byte("lt-proc 'a.bin' | lt-proc $1 'b.bin'\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "spa-eng_US.mode"), []byte("lt-proc x\n"), 0o644)
	a, err := NewApertium(dir)
	if err != nil {
		t.Fatal(err)
	}
	if p := a.Pairs(); len(p) != 1 || p[0] != (Pair{"en", "ca"}) {
		t.Fatalf("pairs %v", p)
	}
	if got, want := a.pipes[Pair{"en", "ca"}].cmd, "lt-proc -z 'a.bin' | lt-proc -z -n 'b.bin'"; got != want {
		t.Errorf("pipeline %q, want %q", got, want)
	}
}

// libreServer answers like LibreTranslate with a two-entry dictionary.
func libreServer(t *testing.T, delay time.Duration) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req libreRequest
		if r.URL.Path != "/translate" || json.NewDecoder(r.Body).Decode(&req) != nil {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": "bad request"})
			return
		}
		switch {
		case req.APIKey != "k":
			w.WriteHeader(http.StatusForbidden)
			json.NewEncoder(w).Encode(map[string]string{"error": "Invalid API key"})
		case req.Q == "slow":
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
			}
		case req.Q == "garbage":
			w.Write([]byte("<html>"))
		case req.Q == "boom":
			w.WriteHeader(http.StatusInternalServerError)
		default:
			out := map[string]string{"hello": "hola", "hola": "hello"}[strings.ToLower(req.Q)]
			json.NewEncoder(w).Encode(map[string]string{"translatedText": out + " (" + req.Source + "→" + req.Target + ")"})
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestLibreTranslate(t *testing.T) {
	srv := libreServer(t, time.Minute)
	pairs := []Pair{{"en", "es"}, {"es", "en"}}
	l := NewLibreTranslate(srv.URL+"/", "k", pairs, srv.Client())
	ctx := context.Background()
	if got, err := l.Translate(ctx, "hello", "en-GB", "es"); err != nil || got != "hola (en→es)" {
		t.Fatalf("hello: %q, %v", got, err)
	}
	if _, err := l.Translate(ctx, "hello", "en", "fr"); !errors.Is(err, ErrUnsupported) {
		t.Errorf("en-fr: %v", err)
	}
	for q, want := range map[string]string{"boom": "HTTP 500", "garbage": "bad answer"} {
		if _, err := l.Translate(ctx, q, "en", "es"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", q, err, want)
		}
	}
	bad := NewLibreTranslate(srv.URL, "wrong", pairs, nil)
	if _, err := bad.Translate(ctx, "hello", "en", "es"); err == nil || !strings.Contains(err.Error(), "Invalid API key") {
		t.Errorf("bad key: %v", err)
	}
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := l.Translate(tctx, "slow", "en", "es"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("slow: %v, want deadline exceeded", err)
	}
	down := NewLibreTranslate("http://127.0.0.1:1", "k", pairs, nil)
	if _, err := down.Translate(ctx, "hello", "en", "es"); err == nil {
		t.Error("server down: no error")
	}
}

func FuzzUnescape(f *testing.F) {
	f.Add("a [b] \\$ c")
	f.Add("\\[x\\] ^word<n>$ \\")
	f.Fuzz(func(t *testing.T, s string) {
		unescape(s)
		if !utf8.ValidString(s) {
			return // escape writes invalid bytes as U+FFFD
		}
		if got, want := unescape(escape(s)), strings.Join(strings.Fields(strings.NewReplacer("\x00", "", "\n", " ", "\r", " ").Replace(s)), " "); got != want {
			t.Errorf("unescape(escape(%q)) = %q, want %q", s, got, want)
		}
	})
}

func FuzzParseLibre(f *testing.F) {
	f.Add(200, []byte(`{"translatedText":"hola"}`))
	f.Add(400, []byte(`{"error":"x"}`))
	f.Fuzz(func(t *testing.T, status int, data []byte) {
		parseLibre(status, data)
	})
}
