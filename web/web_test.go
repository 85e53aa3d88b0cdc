package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/voxgate/voxgate/web"
)

func TestDemoServesThePage(t *testing.T) {
	srv := httptest.NewServer(web.Demo())
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Get(srv.URL + "/demo?session=sess_x")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/demo/?session=sess_x" {
		t.Fatalf("/demo: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	for path, want := range map[string]string{
		"/demo/":         "<title>voxgate demo</title>",
		"/demo/demo.js":  "RTCPeerConnection",
		"/demo/demo.css": ".card",
	} {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Fatalf("%s: %d, lacks %q", path, res.StatusCode, want)
		}
		if res.Header.Get("Content-Security-Policy") == "" {
			t.Fatalf("%s: no CSP", path)
		}
	}
}
