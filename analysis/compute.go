// Package analysis sums up a finished conversation from its transcript
// turns: performance (talk ratio, interruptions, silences, response times),
// keywords, sentiment from a lexicon shipped in the package, compliance
// against required and forbidden phrases, and a summary: extractive, or
// written by the session's agent's llm when it has one (SPEC §3). Compute
// is pure; Service stores analyses and runs them in the background.
package analysis

import (
	"math"
	"slices"
	"sort"
)

// Parts an analysis may include (SPEC §3 include).
const (
	PartSummary     = "summary"
	PartSentiment   = "sentiment"
	PartCompliance  = "compliance"
	PartKeywords    = "keywords"
	PartPerformance = "performance"
)

// Parts lists every part, in the order the SPEC names them.
var Parts = []string{PartSummary, PartSentiment, PartCompliance, PartKeywords, PartPerformance}

// Speakers, as in transcripts.
const (
	Customer = "customer"
	Agent    = "agent"
)

// Turn is one final transcript turn, in the session's media time.
type Turn struct {
	Sequence       int
	Speaker        string // customer or agent
	Text           string
	StartMS, EndMS int64
}

// Input is what an analysis is computed from.
type Input struct {
	Turns []Turn
	// DurationMS is the session's length in media time (0 when unknown):
	// silence before the first turn and after the last one counts up to it.
	DurationMS int64
	// Include names the parts to compute (all when empty).
	Include []string
	// Required and Forbidden are the compliance phrases; Speaker is whose
	// turns they are looked for in (agent when empty, "any" for both).
	Required, Forbidden []string
	ComplianceSpeaker   string
}

// Results is SPEC §3's results object; parts not asked for are absent.
type Results struct {
	Performance *Performance `json:"performance,omitempty"`
	Keywords    *[]Keyword   `json:"keywords,omitempty"`
	Sentiment   *Sentiment   `json:"sentiment,omitempty"`
	Compliance  *Compliance  `json:"compliance,omitempty"`
	Summary     *Summary     `json:"summary,omitempty"`
}

// Performance measures how the conversation flowed.
type Performance struct {
	TalkRatio              TalkRatio `json:"talk_ratio"`
	Interruptions          int       `json:"interruptions"`
	LongestSilenceSeconds  float64   `json:"longest_silence_seconds"`
	AverageResponseSeconds *float64  `json:"average_response_seconds"` // null when no side ever answered the other
}

// TalkRatio is each side's share of the talk time (they sum to 1, or are
// both 0 when nobody spoke).
type TalkRatio struct {
	Customer float64 `json:"customer"`
	Agent    float64 `json:"agent"`
}

// Keyword is a salient word and its score (1 for the most salient).
type Keyword struct {
	Text  string  `json:"text"`
	Score float64 `json:"score"`
}

// Sentiment scores the conversation and each turn in [-1, 1].
type Sentiment struct {
	Overall Score       `json:"overall"`
	Turns   []TurnScore `json:"turns"`
}

// Score is a sentiment score and its label: positive, negative or neutral.
type Score struct {
	Score float64 `json:"score"`
	Label string  `json:"label"`
}

// TurnScore is one turn's sentiment.
type TurnScore struct {
	Sequence int     `json:"sequence"`
	Score    float64 `json:"score"`
	Label    string  `json:"label"`
}

// Compliance says which required and forbidden phrases were said.
type Compliance struct {
	Required  []PhraseCheck `json:"required"`
	Forbidden []PhraseCheck `json:"forbidden"`
}

// PhraseCheck is one phrase: whether it was said and when it first was.
type PhraseCheck struct {
	Phrase string `json:"phrase"`
	Said   bool   `json:"said"`
	AtMS   *int64 `json:"at_ms"`
}

// Summary is a short account of the conversation.
type Summary struct {
	Text   string `json:"text"`
	Method string `json:"method"` // extractive or llm
}

// Compute analyses the input.
func Compute(in Input) Results {
	turns := slices.Clone(in.Turns)
	sort.SliceStable(turns, func(i, j int) bool { return turns[i].StartMS < turns[j].StartMS })
	want := func(part string) bool { return len(in.Include) == 0 || slices.Contains(in.Include, part) }
	var r Results
	if want(PartPerformance) {
		p := performance(turns, in.DurationMS)
		r.Performance = &p
	}
	if want(PartKeywords) {
		k := keywords(turns, 10)
		r.Keywords = &k
	}
	if want(PartSentiment) {
		s := sentiment(turns)
		r.Sentiment = &s
	}
	if want(PartCompliance) {
		c := compliance(turns, in.Required, in.Forbidden, in.ComplianceSpeaker)
		r.Compliance = &c
	}
	if want(PartSummary) {
		r.Summary = &Summary{Text: summarize(turns, 3), Method: "extractive"}
	}
	return r
}

// performance computes talk ratio, interruptions, the longest silence and
// the average response time. turns are sorted by start.
//
//   - talk time of a side: the union of its turns' intervals;
//   - an interruption: a turn that starts while a turn of the other side
//     is still going;
//   - silence: a gap where nobody speaks, between turns and, when the
//     duration is known, before the first and after the last;
//   - a response: a change of speaker without overlap; its time is the gap
//     from the end of the other side's last turn to the start of this one.
func performance(turns []Turn, durationMS int64) Performance {
	var (
		p         Performance
		talk      = map[string]int64{}
		sideEnd   = map[string]int64{} // latest end of each side so far
		allEnd    int64                // latest end of any turn so far
		respSum   int64
		responses int
		prev      string
	)
	for i, t := range turns {
		end := max(t.EndMS, t.StartMS)
		other := otherSide(t.Speaker)
		// Talk: add the part of this turn beyond the side's speech so far.
		if end > sideEnd[t.Speaker] {
			talk[t.Speaker] += end - max(t.StartMS, sideEnd[t.Speaker])
		}
		overlaps := t.StartMS < sideEnd[other]
		if overlaps {
			p.Interruptions++
		} else if i > 0 && prev != t.Speaker && prev != "" {
			respSum += t.StartMS - sideEnd[other]
			responses++
		}
		gap := t.StartMS - allEnd
		if i == 0 && durationMS == 0 {
			gap = 0
		}
		p.LongestSilenceSeconds = max(p.LongestSilenceSeconds, seconds(gap))
		allEnd = max(allEnd, end)
		sideEnd[t.Speaker] = max(sideEnd[t.Speaker], end)
		prev = t.Speaker
	}
	if durationMS > allEnd {
		p.LongestSilenceSeconds = max(p.LongestSilenceSeconds, seconds(durationMS-allEnd))
	}
	if total := talk[Customer] + talk[Agent]; total > 0 {
		p.TalkRatio = TalkRatio{Customer: round(float64(talk[Customer])/float64(total), 4), Agent: round(float64(talk[Agent])/float64(total), 4)}
	}
	if responses > 0 {
		avg := round(float64(respSum)/float64(responses)/1000, 3)
		p.AverageResponseSeconds = &avg
	}
	return p
}

func otherSide(s string) string {
	if s == Customer {
		return Agent
	}
	return Customer
}

func seconds(ms int64) float64 { return round(float64(max(ms, 0))/1000, 3) }

func round(v float64, digits int) float64 {
	f := math.Pow(10, float64(digits))
	return math.Round(v*f) / f
}
