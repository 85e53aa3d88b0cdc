// Package e2e tests voxgate as users run it: the real binary, against real
// peers (a headless Chromium, SIP phones), all on loopback.
package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// voxgateBin is the binary under test, built once by TestMain.
var voxgateBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "voxgate-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	voxgateBin = filepath.Join(dir, "voxgate")
	build := exec.Command("go", "build", "-o", voxgateBin, "../cmd/voxgate")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build voxgate:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// gateway is a running voxgate serve with a key of every scope.
type gateway struct {
	base string
	key  string
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startGateway runs the binary with a YAML config, on a fresh data dir.
func startGateway(t *testing.T, yaml string) *gateway {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "voxgate.yaml")
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(voxgateBin, "keys", "create", "--org", "e2e", "--scopes", "all", "--data-dir", dir).Output()
	if err != nil {
		t.Fatalf("keys create: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	addr := freeAddr(t)
	cmd := exec.Command(voxgateBin, "serve", "--config", cfg, "--data-dir", dir, "--http-addr", addr,
		"--sip-addr", "127.0.0.1:0", "--admin-addr", "", "--log-level", "warn")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	up := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "voxgate is up") {
				up <- true
			}
		}
		up <- false
	}()
	select {
	case ok := <-up:
		if !ok {
			t.Fatal("voxgate exited before it was up")
		}
	case <-time.After(60 * time.Second):
		t.Fatal("voxgate did not come up")
	}
	return &gateway{base: "http://" + addr, key: lines[len(lines)-1]}
}

// post calls the API with the key and decodes the JSON answer.
func (g *gateway) post(t *testing.T, path, body string) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", g.base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+g.key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil || res.StatusCode >= 300 {
		t.Fatalf("POST %s: %d %s", path, res.StatusCode, raw)
	}
	return m
}
