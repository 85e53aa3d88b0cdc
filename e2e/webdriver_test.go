package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// chrome is a headless Debian Chromium driven over the W3C WebDriver
// protocol by Debian's chromedriver, all on loopback.
type chrome struct {
	t       *testing.T
	base    string // chromedriver URL
	session string
}

// chromiumFlags are the flags this machine needs (see the platform notes):
// no sandbox as root, no background networking (the network is closed), a
// fresh profile, and a fake microphone playing wav.
func chromiumFlags(profile, wav string) []string {
	return []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + profile, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
		"--use-file-for-fake-audio-capture=" + wav, "--autoplay-policy=no-user-gesture-required", "--window-size=1280,900",
	}
}

func startChrome(t *testing.T, wav string) *chrome {
	t.Helper()
	for _, bin := range []string{"/usr/bin/chromium", "/usr/bin/chromedriver"} {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("%s is missing: apt-get install chromium chromium-driver (make test installs them)", bin)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command("/usr/bin/chromedriver", "--port="+strconv.Itoa(port), "--allowed-ips=127.0.0.1")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	c := &chrome{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", port)}
	for i := 0; ; i++ {
		if _, err := http.Get(c.base + "/status"); err == nil {
			break
		}
		if i > 100 {
			t.Fatal("chromedriver did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName": "chrome",
		"goog:chromeOptions": map[string]any{
			"binary": "/usr/bin/chromium",
			"args":   chromiumFlags(t.TempDir(), wav),
		},
	}}}
	var res struct {
		SessionID string `json:"sessionId"`
	}
	c.call("POST", "/session", caps, &res)
	if res.SessionID == "" {
		t.Fatal("chromedriver gave no session")
	}
	c.session = res.SessionID
	t.Cleanup(func() { c.call("DELETE", "/session/"+c.session, nil, nil) })
	return c
}

// call makes one WebDriver request and decodes its "value" into out.
func (c *chrome) call(method, path string, body, out any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("webdriver %s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	var env struct {
		Value json.RawMessage `json:"value"`
	}
	raw, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(raw, &env); err != nil || res.StatusCode != 200 {
		c.t.Fatalf("webdriver %s %s: %d %s", method, path, res.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(env.Value, out); err != nil {
			c.t.Fatalf("webdriver %s %s: %v: %s", method, path, err, env.Value)
		}
	}
}

func (c *chrome) open(url string) {
	c.call("POST", "/session/"+c.session+"/url", map[string]string{"url": url}, nil)
}

// eval runs JavaScript in the page and decodes its result into out.
func (c *chrome) eval(script string, out any) {
	c.call("POST", "/session/"+c.session+"/execute/sync", map[string]any{"script": script, "args": []any{}}, out)
}

// screenshot saves a PNG of the page.
func (c *chrome) screenshot(path string) {
	var b64 string
	c.call("GET", "/session/"+c.session+"/screenshot", nil, &b64)
	png, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		c.t.Fatal(err)
	}
}
