package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestREADMEQuickstart runs the README's quickstart block, as printed,
// against a real gateway with a key minted by `voxgate keys create`.
func TestREADMEQuickstart(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed for the README quickstart (make test installs curl and jq with apt)", tool)
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(readme), "<!-- quickstart:begin -->")
	block, _, ok2 := strings.Cut(block, "<!-- quickstart:end -->")
	if !ok || !ok2 {
		t.Fatal("README has no quickstart block")
	}
	block = strings.TrimSpace(block)
	block = strings.TrimPrefix(block, "```sh")
	block = strings.TrimSuffix(block, "```")
	var script []string
	for _, line := range strings.Split(block, "\n") {
		if strings.HasPrefix(line, "export VOXGATE_KEY=") {
			continue // the test supplies the key
		}
		script = append(script, line)
	}

	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := voxgate(ctx, "keys", "create", "--org", "readme", "--scopes", "all", "--data-dir", dir).Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	key := lines[len(lines)-1]
	p := startServe(t, dir)

	body := strings.ReplaceAll(strings.Join(script, "\n"), "http://127.0.0.1:8080", p.base)
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", body)
	cmd.Env = append(os.Environ(), "VOXGATE_KEY="+key)
	got, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("quickstart failed: %v\n%s", err, got)
	}
	for _, want := range []string{"agent: agt_", `"status": "created"`, `"ticket": "T-1001"`, `"status": "ended"`, `"end_reason": "explicit_end"`, `"sip_uri": "sip:sess_`} {
		if !strings.Contains(string(got), want) {
			t.Fatalf("quickstart output lacks %q:\n%s", want, got)
		}
	}
}
