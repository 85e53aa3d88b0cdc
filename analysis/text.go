package analysis

import (
	"bufio"
	_ "embed"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// lexiconTSV is the sentiment lexicon: one "word<TAB>score" a line, scores
// from -3 (very negative) to 3 (very positive).
//
//go:embed lexicon.tsv
var lexiconTSV string

// stopwordsTXT lists the words keywords and summaries ignore, one a line.
//
//go:embed stopwords.txt
var stopwordsTXT string

var (
	lexicon   = parseLexicon(lexiconTSV)
	stopwords = parseWords(stopwordsTXT)
)

func parseLexicon(s string) map[string]float64 {
	m := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		word, score, ok := strings.Cut(sc.Text(), "\t")
		if !ok || strings.HasPrefix(word, "#") {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(score), 64); err == nil {
			m[strings.TrimSpace(word)] = v
		}
	}
	return m
}

func parseWords(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		if !strings.HasPrefix(w, "#") {
			m[w] = true
		}
	}
	return m
}

// words splits text into lower-case words (letters, digits and inner
// apostrophes; typographic apostrophes count as ').
func words(text string) []string {
	text = strings.ReplaceAll(strings.ToLower(text), "’", "'")
	return strings.FieldsFunc(text, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	})
}

// normalized is text as words joined by single spaces, framed by spaces,
// so that phrases match on word boundaries only.
func normalized(text string) string {
	w := words(text)
	for i := range w {
		w[i] = strings.Trim(w[i], "'")
	}
	return " " + strings.Join(w, " ") + " "
}

func content(w string) bool {
	w = strings.Trim(w, "'")
	if len(w) < 3 || stopwords[w] {
		return false
	}
	_, err := strconv.Atoi(w)
	return err != nil
}

// keywords returns up to n content words by frequency, scored relative to
// the most frequent; ties keep the order of first use.
func keywords(turns []Turn, n int) []Keyword {
	count := map[string]int{}
	var order []string
	for _, t := range turns {
		for _, w := range words(t.Text) {
			if w = strings.Trim(w, "'"); !content(w) {
				continue
			}
			if count[w] == 0 {
				order = append(order, w)
			}
			count[w]++
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return count[order[i]] > count[order[j]] })
	out := []Keyword{}
	for _, w := range order[:min(n, len(order))] {
		out = append(out, Keyword{Text: w, Score: round(float64(count[w])/float64(count[order[0]]), 3)})
	}
	return out
}

// negates reports whether a word flips the sentiment of the next few.
func negates(w string) bool {
	switch w {
	case "not", "no", "never", "nothing", "nobody", "neither", "nor", "cannot", "without":
		return true
	}
	return strings.HasSuffix(w, "n't")
}

// turnSentiment sums the lexicon scores of a text's words (a negation
// flips the next three words) and squashes the sum into [-1, 1].
func turnSentiment(text string) float64 {
	var sum float64
	negated := 0
	for _, w := range words(text) {
		w = strings.Trim(w, "'")
		if negates(w) {
			negated = 3
			continue
		}
		if v, ok := lexicon[w]; ok {
			if negated > 0 {
				v = -v * 0.75
			}
			sum += v
		}
		negated = max(negated-1, 0)
	}
	return round(sum/math.Sqrt(sum*sum+15), 3)
}

func label(score float64) string {
	switch {
	case score >= 0.05:
		return "positive"
	case score <= -0.05:
		return "negative"
	}
	return "neutral"
}

// sentiment scores each turn and the conversation (the mean of its turns).
func sentiment(turns []Turn) Sentiment {
	s := Sentiment{Turns: []TurnScore{}}
	var sum float64
	for _, t := range turns {
		v := turnSentiment(t.Text)
		sum += v
		s.Turns = append(s.Turns, TurnScore{Sequence: t.Sequence, Score: v, Label: label(v)})
	}
	sort.Slice(s.Turns, func(i, j int) bool { return s.Turns[i].Sequence < s.Turns[j].Sequence })
	if len(turns) > 0 {
		sum = round(sum/float64(len(turns)), 3)
	}
	s.Overall = Score{Score: sum, Label: label(sum)}
	return s
}

// compliance looks for each phrase, on word boundaries and ignoring case
// and punctuation, in the turns of the speaker ("any": both sides).
func compliance(turns []Turn, required, forbidden []string, speaker string) Compliance {
	if speaker == "" {
		speaker = Agent
	}
	texts := make([]string, len(turns))
	for i, t := range turns {
		if speaker == "any" || t.Speaker == speaker {
			texts[i] = normalized(t.Text)
		}
	}
	check := func(phrases []string) []PhraseCheck {
		out := []PhraseCheck{}
		for _, p := range phrases {
			c := PhraseCheck{Phrase: p}
			if np := normalized(p); np != "  " {
				for i, t := range turns {
					if strings.Contains(texts[i], np) {
						at := t.StartMS
						c.Said, c.AtMS = true, &at
						break
					}
				}
			}
			out = append(out, c)
		}
		return out
	}
	return Compliance{Required: check(required), Forbidden: check(forbidden)}
}

// summarize picks the n sentences richest in the conversation's frequent
// words (three words at least), in the order they were said, each with
// who said it.
func summarize(turns []Turn, n int) string {
	type sentence struct {
		text  string
		score float64
		pos   int
	}
	freq := map[string]int{}
	for _, t := range turns {
		for _, w := range words(t.Text) {
			if w = strings.Trim(w, "'"); content(w) {
				freq[w]++
			}
		}
	}
	var all []sentence
	for _, t := range turns {
		for _, s := range sentences(t.Text) {
			var score float64
			ws := words(s)
			if len(ws) < 3 {
				continue
			}
			for _, w := range ws {
				score += float64(freq[strings.Trim(w, "'")])
			}
			all = append(all, sentence{text: speakerName(t.Speaker) + ": " + s, score: score / math.Sqrt(float64(len(ws))), pos: len(all)})
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].score > all[j].score })
	all = all[:min(n, len(all))]
	sort.Slice(all, func(i, j int) bool { return all[i].pos < all[j].pos })
	parts := make([]string, len(all))
	for i, s := range all {
		parts[i] = s.text
	}
	return strings.Join(parts, " ")
}

func speakerName(s string) string {
	if s == "" {
		return "Unknown"
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// sentences splits text after '.', '!' and '?' (a turn without any is one
// sentence), each ending with its punctuation.
func sentences(text string) []string {
	var out []string
	start := 0
	for i, r := range text {
		if r == '.' || r == '!' || r == '?' {
			if s := strings.TrimSpace(text[start : i+1]); s != "" {
				out = append(out, s)
			}
			start = i + 1
		}
	}
	if s := strings.TrimSpace(text[start:]); s != "" {
		out = append(out, s+".")
	}
	return out
}
