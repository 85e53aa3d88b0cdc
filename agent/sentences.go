package agent

import "strings"

// splitter cuts streamed text into sentences as soon as each is complete:
// at '.', '!' or '?' (runs of them too) followed by white space, or at a
// line break. A period after a common abbreviation or inside a number does
// not end a sentence.
type splitter struct{ buf string }

// add takes the next piece of text and returns the sentences it completed.
func (s *splitter) add(piece string) []string {
	s.buf += piece
	var out []string
	start := 0
	for i := 0; i < len(s.buf); i++ {
		c := s.buf[i]
		if c == '\n' {
			out = appendSentence(out, s.buf[start:i])
			start = i + 1
			continue
		}
		if c != '.' && c != '!' && c != '?' {
			continue
		}
		j := i
		for j+1 < len(s.buf) && strings.IndexByte(".!?\"')", s.buf[j+1]) >= 0 {
			j++
		}
		if j+1 >= len(s.buf) {
			break // the next piece says whether the sentence ends here
		}
		if !space(s.buf[j+1]) || (c == '.' && j == i && abbreviation(s.buf[start:i])) {
			i = j
			continue
		}
		out = appendSentence(out, s.buf[start:j+1])
		start = j + 1
		i = j
	}
	s.buf = s.buf[start:]
	return out
}

// flush returns what is left at the end of the text.
func (s *splitter) flush() []string {
	rest := s.buf
	s.buf = ""
	return appendSentence(nil, rest)
}

func space(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func appendSentence(out []string, s string) []string {
	if s = strings.TrimSpace(s); s != "" {
		out = append(out, s)
	}
	return out
}

// abbreviation reports whether text ends with a word that is usually
// abbreviated with a period.
func abbreviation(text string) bool {
	f := strings.Fields(text)
	if len(f) == 0 {
		return false
	}
	switch strings.ToLower(f[len(f)-1]) {
	case "mr", "mrs", "ms", "dr", "st", "vs", "etc", "e.g", "i.e", "no", "approx", "jr", "sr":
		return true
	}
	return false
}
