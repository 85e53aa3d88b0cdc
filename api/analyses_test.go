package api_test

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/voxgate/voxgate/analysis"
	"github.com/voxgate/voxgate/llm"
	"github.com/voxgate/voxgate/llm/llmtest"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/store"
	"github.com/voxgate/voxgate/store/storetest"
)

// scriptedCall is a two-speaker call of 21 s of media time (see
// analysis/compute_test.go for the hand-computed figures: talk 6.5 s vs
// 8 s, one interruption, longest silence 3 s, average response 1.25 s).
var scriptedCall = []session.Turn{
	{Speaker: session.SpeakerCustomer, Text: "Hello, I have a problem with my order. It arrived broken.", StartMS: 1000, EndMS: 4000},
	{Speaker: session.SpeakerAgent, Text: "I am sorry to hear that. This call may be recorded. Let me check your order.", StartMS: 4500, EndMS: 8000},
	{Speaker: session.SpeakerCustomer, Text: "It was order 42.", StartMS: 7500, EndMS: 9000},
	{Speaker: session.SpeakerAgent, Text: "Thank you. I can send a replacement order today.", StartMS: 10000, EndMS: 13000},
	{Speaker: session.SpeakerCustomer, Text: "Great, thank you so much!", StartMS: 16000, EndMS: 18000},
	{Speaker: session.SpeakerAgent, Text: "You are welcome. Goodbye.", StartMS: 18500, EndMS: 20000},
}

func TestAnalysisRoutes(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e storetest.Engine) {
		g := startGateway(t, e.Config(t), options{})
		clock := &atomicTime{}
		t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		clock.set(t0)
		g.store.SetClock(clock.now)
		ctx := context.Background()
		key := g.key(true)
		sc := store.Scope{OrgID: g.orgID, Livemode: true}

		if c := g.do("POST", "/v1/sessions/sess_nope/analysis", key, `{}`).want(t, 404).errorCode(t); c != "session_not_found" {
			t.Fatalf("unknown session: %s", c)
		}
		model := llmtest.Start(t, func(req llm.Request) llmtest.Reply {
			if !strings.Contains(req.Messages[1].Content, "customer: Hello, I have a problem with my order.") {
				return llmtest.Reply{Status: 400, Error: "no transcript"}
			}
			return llmtest.Reply{Text: "The customer's order arrived broken; the agent sends a replacement."}
		})
		agentID := g.do("POST", "/v1/agents", key, `{"name":"Support","llm":{"base_url":"`+model.BaseURL()+`","model":"m"},`+
			`"compliance":{"required":["this call may be recorded","anything else"],"forbidden":["guaranteed"]}}`).
			want(t, 201).json(t)["id"].(string)
		sid := g.do("POST", "/v1/sessions", key, `{"mode":"transcription","agent_id":"`+agentID+`"}`).want(t, 201).json(t)["id"].(string)
		if _, err := g.sessions.Activate(ctx, sc, sid); err != nil {
			t.Fatal(err)
		}
		for _, turn := range scriptedCall {
			if _, err := g.sessions.AddTurn(ctx, sid, turn); err != nil {
				t.Fatal(err)
			}
		}
		if c := g.do("POST", "/v1/sessions/"+sid+"/analysis", key, `{}`).want(t, 409).errorCode(t); c != "session_not_ended" {
			t.Fatalf("active session: %s", c)
		}
		clock.set(t0.Add(21 * time.Second))
		g.do("POST", "/v1/sessions/"+sid+"/end", key, ``).want(t, 200)

		if p := g.do("POST", "/v1/sessions/"+sid+"/analysis", key, `{"include":["mood"]}`).want(t, 400).errorField(t, "param"); p != "include" {
			t.Fatalf("bad include: param %v", p)
		}
		g.do("POST", "/v1/sessions/"+sid+"/analysis", g.key(true, "analysis:read"), `{}`).want(t, 403)

		idem := header{"Idempotency-Key", "anl-1"}
		first := g.do("POST", "/v1/sessions/"+sid+"/analysis", key, `{"profile":"default"}`, idem).want(t, 202)
		created := first.json(t)
		anlID, _ := created["id"].(string)
		if created["object"] != "analysis" || created["status"] != "processing" || created["session_id"] != sid || len(anlID) < 5 || anlID[:4] != "anl_" {
			t.Fatalf("created %s", first.body)
		}
		replay := g.do("POST", "/v1/sessions/"+sid+"/analysis", key, `{"profile":"default"}`, idem).want(t, 202)
		if string(replay.body) != string(first.body) || replay.header.Get("Idempotency-Replayed") != "true" {
			t.Fatalf("replay %s", replay.body)
		}

		a := waitAnalysis(t, g, key, anlID)
		if a.Status != analysis.StatusCompleted || a.Results == nil || a.CompletedAt == nil {
			t.Fatalf("analysis %+v", a)
		}
		p := a.Results.Performance
		near := func(got, want float64) bool { return math.Abs(got-want) < 0.1 }
		if !near(p.TalkRatio.Customer, 6.5/14.5) || !near(p.TalkRatio.Agent, 8/14.5) || p.Interruptions != 1 ||
			!near(p.LongestSilenceSeconds, 3) || p.AverageResponseSeconds == nil || !near(*p.AverageResponseSeconds, 1.25) {
			t.Errorf("performance %+v (average %v)", p, p.AverageResponseSeconds)
		}
		c := a.Results.Compliance
		if len(c.Required) != 2 || !c.Required[0].Said || *c.Required[0].AtMS != 4500 || c.Required[1].Said || len(c.Forbidden) != 1 || c.Forbidden[0].Said {
			t.Errorf("compliance %+v", c)
		}
		if sum := a.Results.Summary; sum == nil || sum.Method != "llm" || sum.Text != "The customer's order arrived broken; the agent sends a replacement." {
			t.Errorf("summary %+v, want the agent's llm's", a.Results.Summary)
		}
		if a.Results.Sentiment == nil || len(a.Results.Sentiment.Turns) != 6 || a.Results.Keywords == nil {
			t.Errorf("results %+v", a.Results)
		}

		// Only the parts asked for; phrases of the request replace the agent's.
		second := g.do("POST", "/v1/sessions/"+sid+"/analysis", key,
			`{"include":["compliance"],"compliance":{"forbidden":["broken"],"speaker":"any"}}`).want(t, 202).json(t)["id"].(string)
		b := waitAnalysis(t, g, key, second)
		if b.Results.Performance != nil || b.Results.Summary != nil || len(b.Results.Compliance.Required) != 0 ||
			!b.Results.Compliance.Forbidden[0].Said || *b.Results.Compliance.Forbidden[0].AtMS != 1000 {
			t.Errorf("second analysis %+v", b.Results)
		}

		evs, err := g.store.SessionEvents(ctx, sid)
		if err != nil {
			t.Fatal(err)
		}
		var done []string
		for _, ev := range evs {
			if ev.Type == analysis.EventComplete {
				var d analysis.Analysis
				if err := json.Unmarshal(ev.Data, &d); err != nil || d.Status != analysis.StatusCompleted {
					t.Fatalf("event data %s", ev.Data)
				}
				done = append(done, d.ID)
			}
		}
		if len(done) != 2 || done[0] != anlID || done[1] != second {
			t.Errorf("analysis.complete events for %v, want [%s %s]", done, anlID, second)
		}

		if c := g.do("GET", "/v1/analyses/anl_nope", key, "").want(t, 404).errorCode(t); c != "analysis_not_found" {
			t.Fatalf("unknown analysis: %s", c)
		}
		g.do("GET", "/v1/analyses/"+anlID, otherOrgKey(t, g), "").want(t, 404)
		g.do("GET", "/v1/analyses/"+anlID, g.key(true, "sessions:read"), "").want(t, 403)
	})
}

// waitAnalysis polls an analysis until it is no longer processing.
func waitAnalysis(t *testing.T, g *gateway, key, anlID string) analysis.Analysis {
	t.Helper()
	for range 500 {
		var a analysis.Analysis
		if err := json.Unmarshal(g.do("GET", "/v1/analyses/"+anlID, key, "").want(t, 200).body, &a); err != nil {
			t.Fatal(err)
		}
		if a.Status != analysis.StatusProcessing {
			return a
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("analysis %s still processing", anlID)
	return analysis.Analysis{}
}
