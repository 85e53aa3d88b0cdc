package sip_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/sip"
	"github.com/voxgate/voxgate/sip/siptest"
)

// TestSIPVicious runs Debian's sipvicious against the gateway from a
// source outside the trunk (127.0.0.1; the trunk is 127.0.0.3): svwar, guessing users by INVITE and by
// REGISTER from a list that holds a live session and a routed number,
// finds none of them (every stranger gets the same 401, or 405 for
// REGISTER); a call from the trunk goes through afterwards. (Bans are
// TestScannerLearnsNothingAndIsBanned's: svwar gives up after its first
// probes, well within the rate.)
func TestSIPVicious(t *testing.T) {
	svwar, err := exec.LookPath("svwar")
	if err != nil {
		t.Fatal("svwar is missing: apt-get install sipvicious (make test installs it)")
	}
	user, pass := "pbx", "s3cret"
	f := newFixtureConfig(t, session.TrunkParams{InboundCIDRs: &[]string{"127.0.0.3/32"}, Username: &user, Password: &pass},
		sip.Config{})
	s, err := f.m.Create(f.ctx, f.sc, session.CreateParams{Mode: "media_stream"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.m.CreatePhoneNumber(f.ctx, f.sc, session.PhoneNumberParams{Number: "+15550100"}); err != nil {
		t.Fatal(err)
	}
	words := []string{s.ID, "+15550100", "15550100"}
	for i := range 60 {
		words = append(words, "1"+strings.Repeat("0", 2)+string(rune('0'+i%10))+string(rune('a'+i/10)))
	}
	dict := filepath.Join(t.TempDir(), "users.txt")
	if err := os.WriteFile(dict, []byte(strings.Join(words, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	gw := f.srv.Addr()
	// REGISTER first: INVITE's 401s are retransmitted until ACKed, and svwar
	// (which never ACKs) would read the late ones as answers to a later scan.
	for _, method := range []string{"REGISTER", "INVITE"} {
		ctx, cancel := context.WithTimeout(f.ctx, 45*time.Second)
		out, err := exec.CommandContext(ctx, svwar, "-m", method, "-d", dict, "-p", strconv.Itoa(int(gw.Port())),
			"-t", "0.05", "--force", "--maximumtime=4", gw.Addr().String()).CombinedOutput()
		timedOut := ctx.Err() != nil
		cancel()
		if timedOut {
			t.Fatalf("svwar -m %s did not finish: %v\n%s", method, err, lastLines(out, 20))
		}
		for _, found := range svwarFound(string(out)) {
			for _, w := range words[:3] {
				if found == w {
					t.Fatalf("svwar -m %s found %s:\n%s", method, w, lastLines(out, 20))
				}
			}
		}
	}
	p := siptest.NewPhoneAt(t, "127.0.0.3", 0, 8000)
	if code := p.Call(f.ctx, gw, s.ID, p.Offer(sip.Supported[0])); code != 200 {
		t.Fatalf("trunk call after the scan answered %d", code)
	}
	_ = p.Dialog.Bye(f.ctx)
}

// svwarFound is the extensions in svwar's result table (its own random
// probe may be there as "weird": svwar's guess, not the gateway's answer).
func svwarFound(out string) []string {
	_, table, ok := strings.Cut(out, "+===")
	if !ok {
		return nil
	}
	var found []string
	for _, line := range strings.Split(table, "\n") {
		if cells := strings.Split(line, "|"); len(cells) > 2 {
			found = append(found, strings.TrimSpace(cells[1]))
		}
	}
	return found
}
