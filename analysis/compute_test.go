package analysis

import (
	"math"
	"testing"
)

// call is a scripted two-speaker call of 21 s. Hand-computed:
// talk customer 3000+1500+2000 = 6500 ms, agent 3500+3000+1500 = 8000 ms
// (ratio 0.4483 / 0.5517); one interruption (turn 3 starts at 7.5 s while
// the agent speaks until 8 s); silences 1 s (lead), 0.5, 1, 3, 0.5, 1
// (trail): longest 3 s; responses 0.5 (turn 2), 1 (turn 4, from 9 s),
// 3 (turn 5), 0.5 (turn 6): average 1.25 s.
var call = []Turn{
	{1, Customer, "Hello, I have a problem with my order. It arrived broken.", 1000, 4000},
	{2, Agent, "I am sorry to hear that. This call may be recorded. Let me check your order.", 4500, 8000},
	{3, Customer, "It was order 42.", 7500, 9000},
	{4, Agent, "Thank you. I can send a replacement order today.", 10000, 13000},
	{5, Customer, "Great, thank you so much!", 16000, 18000},
	{6, Agent, "You are welcome. Goodbye.", 18500, 20000},
}

func near(got, want float64) bool { return math.Abs(got-want) < 0.1 }

func TestPerformanceMatchesHandComputedFigures(t *testing.T) {
	r := Compute(Input{Turns: call, DurationMS: 21000, Include: []string{PartPerformance}})
	p := r.Performance
	if p == nil || r.Keywords != nil || r.Summary != nil {
		t.Fatalf("results = %+v, want performance only", r)
	}
	if !near(p.TalkRatio.Customer, 6.5/14.5) || !near(p.TalkRatio.Agent, 8/14.5) {
		t.Errorf("talk ratio = %+v, want 0.448/0.552", p.TalkRatio)
	}
	if p.Interruptions != 1 {
		t.Errorf("interruptions = %d, want 1", p.Interruptions)
	}
	if !near(p.LongestSilenceSeconds, 3) {
		t.Errorf("longest silence = %v s, want 3", p.LongestSilenceSeconds)
	}
	if p.AverageResponseSeconds == nil || !near(*p.AverageResponseSeconds, 1.25) {
		t.Errorf("average response = %v s, want 1.25", p.AverageResponseSeconds)
	}

	// Ten seconds of silence after the last turn is the longest one.
	if r := Compute(Input{Turns: call, DurationMS: 30000}); !near(r.Performance.LongestSilenceSeconds, 10) {
		t.Errorf("with trailing silence: longest = %v s, want 10", r.Performance.LongestSilenceSeconds)
	}
}

func TestPerformanceOfOneSidedAndEmptyCalls(t *testing.T) {
	r := Compute(Input{Turns: call[:1], DurationMS: 5000})
	if p := r.Performance; p.TalkRatio.Customer != 1 || p.TalkRatio.Agent != 0 || p.AverageResponseSeconds != nil || p.Interruptions != 0 {
		t.Errorf("one turn: %+v", p)
	}
	r = Compute(Input{DurationMS: 5000})
	if p := r.Performance; p.TalkRatio.Customer != 0 || !near(p.LongestSilenceSeconds, 5) {
		t.Errorf("no turns: %+v", p)
	}
	if r.Keywords == nil || len(*r.Keywords) != 0 || r.Sentiment.Overall.Label != "neutral" || r.Summary.Text != "" {
		t.Errorf("no turns: %+v %+v %+v", r.Keywords, r.Sentiment, r.Summary)
	}
}

func TestCompliancePhrasesFoundAndMissed(t *testing.T) {
	c := Compute(Input{Turns: call, Include: []string{PartCompliance},
		Required:  []string{"This call may be RECORDED", "is there anything else"},
		Forbidden: []string{"guarantee", "broken"}}).Compliance
	want := []struct {
		said bool
		at   int64
	}{{true, 4500}, {false, 0}}
	for i, w := range want {
		got := c.Required[i]
		if got.Said != w.said || (w.said && (got.AtMS == nil || *got.AtMS != w.at)) || (!w.said && got.AtMS != nil) {
			t.Errorf("required %q = %+v, want said=%v at %d", got.Phrase, got, w.said, w.at)
		}
	}
	// "broken" is the customer's word: the agent never said it.
	for _, f := range c.Forbidden {
		if f.Said {
			t.Errorf("forbidden %q said, want not", f.Phrase)
		}
	}
	c = Compute(Input{Turns: call, Forbidden: []string{"broken"}, ComplianceSpeaker: "any"}).Compliance
	if f := c.Forbidden[0]; !f.Said || *f.AtMS != 1000 {
		t.Errorf("forbidden for any speaker = %+v, want said at 1000", f)
	}
	// Word boundaries: "order" is not in "recorder".
	c = Compute(Input{Turns: []Turn{{1, Agent, "The recorder is on.", 0, 1000}}, Required: []string{"order"}}).Compliance
	if c.Required[0].Said {
		t.Error("phrase matched inside a word")
	}
}

func TestSentimentKeywordsSummary(t *testing.T) {
	r := Compute(Input{Turns: call})
	s := r.Sentiment
	labels := map[int]string{}
	for _, ts := range s.Turns {
		labels[ts.Sequence] = ts.Label
	}
	if labels[1] != "negative" || labels[5] != "positive" || labels[3] != "neutral" {
		t.Errorf("turn labels = %v", labels)
	}
	if len(s.Turns) != len(call) {
		t.Errorf("%d turn scores, want %d", len(s.Turns), len(call))
	}
	if got := turnSentiment("That is not good at all"); got >= 0 {
		t.Errorf("negated positive scored %v, want negative", got)
	}
	if got := turnSentiment("No problem"); got <= 0 {
		t.Errorf("'no problem' scored %v, want positive", got)
	}
	kw := *r.Keywords
	if len(kw) == 0 || kw[0].Text != "order" || kw[0].Score != 1 {
		t.Errorf("keywords = %+v, want order first", kw)
	}
	if r.Summary.Method != "extractive" || r.Summary.Text == "" {
		t.Errorf("summary = %+v", r.Summary)
	}
	t.Logf("summary: %s", r.Summary.Text)
}

// FuzzCompute analyses arbitrary text and phrases: no panic, scores in range.
func FuzzCompute(f *testing.F) {
	f.Add("Hello, I have a problem. It's not good!", "not good", int64(500))
	f.Add("’’ ... ?! 3.50 don't", "'", int64(-100))
	f.Fuzz(func(t *testing.T, text, phrase string, at int64) {
		r := Compute(Input{Turns: []Turn{{1, Customer, text, at, at + 1000}, {2, Agent, phrase + " " + text, at - 50, at + 2000}},
			DurationMS: 5000, Required: []string{phrase}, Forbidden: []string{text}})
		for _, ts := range r.Sentiment.Turns {
			if ts.Score < -1 || ts.Score > 1 {
				t.Fatalf("score %v", ts.Score)
			}
		}
		if p := r.Performance; p.TalkRatio.Customer < 0 || p.TalkRatio.Agent < 0 || p.LongestSilenceSeconds < 0 {
			t.Fatalf("performance %+v", p)
		}
	})
}
