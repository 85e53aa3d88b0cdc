package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voxgate/voxgate/cluster/clustertest"
	"github.com/voxgate/voxgate/store/storetest"
)

// TestClusterSIPpScaling measures, and asserts nothing about speed: SIPp
// calls (8 s of G.711 speech each) offered to one node, then spread over
// three nodes of a cluster (sessions placed through the first node, each
// node's SIPp calling the sessions placed on it). It runs only when
// VOXGATE_BENCH_CLUSTER names the number of calls; BENCHMARKS.md has the
// command and the figures.
func TestClusterSIPpScaling(t *testing.T) {
	calls, _ := strconv.Atoi(os.Getenv("VOXGATE_BENCH_CLUSTER"))
	if calls <= 0 {
		t.Skip("a measurement: VOXGATE_BENCH_CLUSTER=<calls> (and VOXGATE_BENCH_RATE=<calls/s>, default 50) runs it")
	}
	if os.Getenv("VOXGATE_TEST_DATABASE_URL") == "" {
		t.Skip("VOXGATE_TEST_DATABASE_URL not set: cluster mode needs PostgreSQL")
	}
	rate := 50
	if r, _ := strconv.Atoi(os.Getenv("VOXGATE_BENCH_RATE")); r > 0 {
		rate = r
	}
	sipp, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatal("sipp is missing: apt-get install sip-tester")
	}
	for _, nodes := range []int{1, 3} {
		t.Run(fmt.Sprintf("nodes=%d", nodes), func(t *testing.T) {
			r := runClusterSIPp(t, sipp, nodes, calls, rate)
			t.Logf("nodes=%d offered=%d at %d/s: completed %d, failed %d; held at once %d; set-up (INVITE→answer) p50 %s p95 %s; answered %.1f calls/s",
				nodes, calls, rate, r.completed, r.failed, r.peak, r.setupP50, r.setupP95, r.answerRate)
		})
	}
}

type sippRun struct {
	completed, failed, peak int
	setupP50, setupP95      time.Duration
	answerRate              float64
}

func runClusterSIPp(t *testing.T, sipp string, nodes, calls, rate int) sippRun {
	var dbURL string
	for _, e := range storetest.Engines(t) {
		if e.Name == "postgres" {
			dbURL = e.Config(t).DatabaseURL
		}
	}
	redisURL := clustertest.Redis(t)
	dir := t.TempDir()
	yml := filepath.Join(dir, "voxgate.yaml")
	if err := os.WriteFile(yml, []byte("trunks:\n  - {org: dev, name: local, inbound_cidrs: [127.0.0.1/32]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var all []clusterNode
	for i := range nodes {
		sipAt := sipAddr(t)
		p := startServe(t, t.TempDir(), "--dev-key", "--config", yml, "--database-url", dbURL, "--redis-url", redisURL,
			"--node-id", fmt.Sprint("n", i), "--sip-addr", sipAt, "--log-level", "error", "--rate-limit", "100000",
			"--max-concurrent-sessions", fmt.Sprint(calls+10))
		all = append(all, clusterNode{p, sipAt})
	}
	api := restClient{t: t, ctx: ctx, base: all[0].base, key: all[0].devKey(t)}
	bySIP := map[string][]string{}
	for range calls {
		s := api.object("POST", "/v1/sessions", `{"mode":"media_stream"}`)
		_, host, _ := strings.Cut(s["sip_uri"].(string), "@")
		bySIP[host] = append(bySIP[host], s["id"].(string))
	}
	scenario := sippCallsSessions(t, sipp, dir)
	var wg sync.WaitGroup
	for i, n := range all {
		ids := bySIP[n.sip]
		if len(ids) == 0 {
			continue
		}
		inf := filepath.Join(dir, fmt.Sprint("sessions", i, ".csv"))
		if err := os.WriteFile(inf, []byte("SEQUENTIAL\n"+strings.Join(ids, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		share := max(1, rate*len(ids)/calls)
		cmd := exec.CommandContext(ctx, sipp, "-sf", scenario, "-inf", inf, "-m", fmt.Sprint(len(ids)), "-l", fmt.Sprint(len(ids)),
			"-r", fmt.Sprint(share), "-i", "127.0.0.1", "-p", "0", "-mp", "0", "-nostdin", "-timeout", "120s", n.sip)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Logf("sipp against %s: %v (%d bytes of output)", n.sip, err, len(out))
			}
		}()
	}
	wg.Wait()

	var r sippRun
	var setups []time.Duration
	var first, last time.Time
	type edge struct {
		at    time.Time
		delta int
	}
	var edges []edge
	lq := ""
	for {
		page := api.object("GET", "/v1/calls?limit=100"+lq, "")
		data := page["data"].([]any)
		for _, c := range data {
			call := c.(map[string]any)
			started, _ := time.Parse(time.RFC3339Nano, call["started_at"].(string))
			answered, okA := parseTime(call["answered_at"])
			ended, okE := parseTime(call["ended_at"])
			if call["status"] == "ended" && call["hangup_cause"] == "remote_bye" {
				r.completed++
			} else {
				r.failed++
			}
			if okA {
				setups = append(setups, answered.Sub(started))
				if first.IsZero() || started.Before(first) {
					first = started
				}
				if answered.After(last) {
					last = answered
				}
				if okE {
					edges = append(edges, edge{answered, 1}, edge{ended, -1})
				}
			}
		}
		if page["has_more"] != true {
			break
		}
		lq = "&starting_after=" + data[len(data)-1].(map[string]any)["id"].(string)
	}
	slices.SortFunc(edges, func(a, b edge) int { return a.at.Compare(b.at) })
	held := 0
	for _, e := range edges {
		held += e.delta
		r.peak = max(r.peak, held)
	}
	if len(setups) > 0 {
		slices.Sort(setups)
		r.setupP50, r.setupP95 = setups[len(setups)/2], setups[len(setups)*95/100]
		r.answerRate = float64(len(setups)) / last.Sub(first).Seconds()
	}
	return r
}

func parseTime(v any) (time.Time, bool) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}
