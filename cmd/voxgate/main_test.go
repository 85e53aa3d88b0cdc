package main

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
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary stand in for the voxgate binary: with
// VOXGATE_TEST_MAIN set it runs main's dispatcher on its arguments.
func TestMain(m *testing.M) {
	if os.Getenv("VOXGATE_TEST_MAIN") == "1" {
		os.Exit(run(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// voxgate returns a command running this binary as voxgate with args.
func voxgate(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), "VOXGATE_TEST_MAIN=1")
	return cmd
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// sipAddr returns a loopback address whose port is free for both UDP and
// TCP (with --sip-addr 127.0.0.1:0 the TCP bind on the UDP port may find it
// taken when many tests run at once).
func sipAddr(t *testing.T) string {
	t.Helper()
	for range 20 {
		tl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := tl.Addr().String()
		ul, err := net.ListenPacket("udp", addr)
		tl.Close()
		if err == nil {
			ul.Close()
			return addr
		}
	}
	t.Fatal("no port free for both UDP and TCP")
	return ""
}

// process is a voxgate serve running as a child process.
type process struct {
	cmd    *exec.Cmd
	base   string
	stdout *strings.Builder
	done   chan error
}

func startServe(t *testing.T, dataDir string, extra ...string) *process {
	t.Helper()
	addr := freePort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	args := append([]string{"serve", "--http-addr", addr, "--sip-addr", "127.0.0.1:0", "--admin-addr", "", "--data-dir", dataDir, "--log-level", "warn"}, extra...)
	cmd := voxgate(ctx, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, base: "http://" + addr, stdout: &strings.Builder{}, done: make(chan error, 1)}
	up := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.stdout.WriteString(sc.Text() + "\n")
			if strings.HasPrefix(sc.Text(), "voxgate is up") {
				close(up)
			}
		}
		p.done <- cmd.Wait()
	}()
	select {
	case <-up:
	case err := <-p.done:
		t.Fatalf("voxgate serve exited before it was up: %v\n%s", err, p.stdout)
	case <-time.After(60 * time.Second):
		t.Fatal("voxgate serve did not come up")
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return p
}

func TestKeysCreatePrintsTheKeyLast(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := voxgate(ctx, "keys", "create", "--org", "acme", "--scopes", "sessions:read,sessions:write", "--data-dir", dir).Output()
	if err != nil {
		t.Fatalf("keys create: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	key := lines[len(lines)-1]
	if !strings.HasPrefix(key, "sk_live_") || strings.Contains(key, " ") {
		t.Fatalf("last line %q is not a key", key)
	}
	test, err := voxgate(ctx, "keys", "create", "--org", "acme", "--scopes", "all", "--test", "--data-dir", dir).Output()
	if err != nil || !strings.Contains(string(test), "\nsk_test_") {
		t.Fatalf("test key: %v %s", err, test)
	}
	if err := voxgate(ctx, "keys", "create", "--org", "acme", "--scopes", "root", "--data-dir", dir).Run(); err == nil {
		t.Fatal("an unknown scope was accepted")
	}

	// The key works against a gateway on the same data dir; the dev key is
	// not minted because keys exist.
	p := startServe(t, dir, "--dev-key")
	if strings.Contains(p.stdout.String(), "Development API key") {
		t.Fatal("dev key printed although the database has keys")
	}
	req, _ := http.NewRequestWithContext(ctx, "POST", p.base+"/v1/sessions", strings.NewReader(`{"mode":"media_stream"}`))
	req.Header.Set("X-API-Key", key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("create with the minted key: %d %s", res.StatusCode, body)
	}
}

func TestDevKeyOnEmptyDatabaseAndGracefulStop(t *testing.T) {
	p := startServe(t, t.TempDir(), "--dev-key")
	key := p.devKey(t)
	get := func(path string) int {
		req, _ := http.NewRequest("GET", p.base+path, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return -1
		}
		res.Body.Close()
		return res.StatusCode
	}
	if c := get("/v1/api_keys"); c != 200 {
		t.Fatalf("dev key lacks admin: %d", c)
	}
	if c := get("/readyz"); c != 200 {
		t.Fatalf("readyz %d", c)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("voxgate did not stop on SIGTERM")
	}
}

func TestInvalidConfigNamesTheField(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, tc := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"--public-url", "ftp://x"}, "", "public_url"},
		{[]string{"--http-addr", "nowhere"}, "", "http_addr"},
		{[]string{"--admin-addr", "0.0.0.0:6060"}, "", "admin_addr"},
		{[]string{"--database-url", "mysql://u:hunter2@h/db"}, "", "database_url"},
		{[]string{"--cors-origins", "example.com"}, "", "cors_origins"},
		{nil, "VOXGATE_IDLE_TIMEOUT=soon", "VOXGATE_IDLE_TIMEOUT"},
		{[]string{"--rate-limit", "0"}, "", "rate_limit_per_minute"},
		{[]string{"--log-format", "xml"}, "", "log_format"},
		{[]string{"--redis-url", "redis://127.0.0.1:1"}, "", "redis_url"},
		{[]string{"--synthesis-engine", "sapi"}, "", "synthesis.engine"},
		{[]string{"--translation-engine", "libretranslate"}, "", "translation.url"},
		{[]string{"--opus-complexity", "11"}, "", "transcode.opus: complexity"},
		{nil, "VOXGATE_OPUS_BITRATE=1000", "transcode.opus: bitrate"},
	} {
		cmd := voxgate(ctx, append([]string{"serve", "--data-dir", t.TempDir()}, tc.args...)...)
		if tc.env != "" {
			cmd.Env = append(cmd.Env, tc.env)
		}
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("%v %s: started with an invalid config", tc.args, tc.env)
		}
		if !strings.Contains(string(out), "invalid config") || !strings.Contains(string(out), tc.want) {
			t.Fatalf("%v %s: message does not name %s:\n%s", tc.args, tc.env, tc.want, out)
		}
		if strings.Contains(string(out), "hunter2") {
			t.Fatalf("the message leaks a password: %s", out)
		}
	}
}

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	yml := dir + "/voxgate.yaml"
	if err := os.WriteFile(yml, []byte("http_addr: 127.0.0.1:7001\nsip_addr: 127.0.0.1:7060\ndata_dir: /yaml\nidle_timeout: 10m\ncors_origins: [\"https://a.example\"]\nlanguages:\n  transcribe: [en, es]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"VOXGATE_CONFIG": yml, "VOXGATE_DATA_DIR": "/env", "VOXGATE_SIP_ADDR": "127.0.0.1:7061", "VOXGATE_WEBHOOK_ALLOW_PRIVATE": "true"}
	cfg, _, err := loadConfig("serve", []string{"--data-dir", "/flag"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.resolve(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ got, want any }{
		{cfg.HTTPAddr, "127.0.0.1:7001"}, // YAML over default
		{cfg.SIPAddr, "127.0.0.1:7061"},  // env over YAML
		{cfg.DataDir, "/flag"},           // flag over env
		{cfg.IdleTimeout, 10 * time.Minute},
		{cfg.WebhookAllowPrivate, true},
		{cfg.CORSOrigins[0], "https://a.example"},
		{cfg.Languages.Transcribe[1], "es"},
		{cfg.PublicURL, "http://127.0.0.1:7001"},
		{cfg.SIPHost, "127.0.0.1:7061"},
		{cfg.RateLimitPerMinute, 600}, // default
	} {
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("got %v, want %v", c.got, c.want)
		}
	}
	if err := os.WriteFile(yml, []byte("http_adr: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadConfig("serve", nil, func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "http_adr") {
		t.Fatalf("unknown YAML field: %v", err)
	}
}

// devKey is the development key a `serve --dev-key` printed.
func (p *process) devKey(t *testing.T) string {
	t.Helper()
	out := p.stdout.String()
	i := strings.Index(out, "sk_live_")
	if i < 0 {
		t.Fatalf("no dev key printed:\n%s", out)
	}
	return strings.Fields(out[i:])[0]
}

// restClient calls a gateway's REST API with a key.
type restClient struct {
	t    *testing.T
	ctx  context.Context
	base string
	key  string
}

// call sends a request and returns the status and body.
func (c restClient) call(method, path, body string) (int, []byte) {
	c.t.Helper()
	req, _ := http.NewRequestWithContext(c.ctx, method, c.base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+c.key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// object sends a request that must succeed and decodes the JSON object.
func (c restClient) object(method, path, body string) map[string]any {
	c.t.Helper()
	code, b := c.call(method, path, body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil || code >= 300 {
		c.t.Fatalf("%s %s: %d %s", method, path, code, b)
	}
	return m
}
