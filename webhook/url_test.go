package webhook

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"testing"
	"time"
)

// A name that resolves to a private address is refused when connecting,
// not only when the URL is checked.
func TestDialRefusesPrivateAddresses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	for _, allow := range []bool{false, true} {
		s, err := New(Config{AllowPrivate: allow, Timeout: 5 * time.Second}, nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://localhost:"+srv.Listener.Addr().String()[len("127.0.0.1:"):], nil)
		res, err := s.client.Do(req)
		cancel()
		if allow {
			if err != nil {
				t.Fatalf("allowed: %v", err)
			}
			res.Body.Close()
			continue
		}
		if !errors.Is(err, errPrivateAddress) {
			t.Fatalf("connected to loopback: %v", err)
		}
	}
}

func FuzzVerify(f *testing.F) {
	now := time.Unix(1700000000, 0)
	f.Add(Sign(now, []byte(`{"id":"evt_1"}`), "whsec_a", "whsec_b"), []byte(`{"id":"evt_1"}`))
	f.Add("t=1700000000,v1=00", []byte("x"))
	f.Add("t=,v1=,,=,v1", []byte{})
	f.Add("t=99999999999999999999,v1=zz", []byte("y"))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		err := Verify(header, body, "whsec_a", now)
		if err == nil && Verify(header, body, "whsec_c", now) == nil && header != "" {
			t.Fatalf("%q verifies with two unrelated secrets", header)
		}
	})
}

func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{"https://example.com/hook", "http://127.0.0.1:8080/x", "http://[::ffff:10.0.0.1]/", "http://0x7f.1/", "http://localhost./x", "ftp://x", "http://%zz", "https://a@b/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		err := CheckURL("url", raw, false)
		if err != nil {
			return
		}
		u, perr := url.Parse(raw)
		if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			t.Fatalf("accepted %q", raw)
		}
		if ip, perr := netip.ParseAddr(u.Hostname()); perr == nil && privateAddr(ip) {
			t.Fatalf("accepted private %q", raw)
		}
	})
}
