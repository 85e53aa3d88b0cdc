package session

import (
	"slices"
	"strings"
)

// validLanguage accepts BCP-47 short codes: "en", "es", "pt-BR", "yue".
func validLanguage(s string) bool {
	primary, region, hasRegion := strings.Cut(s, "-")
	if len(primary) < 2 || len(primary) > 3 || !isLetters(primary) {
		return false
	}
	return !hasRegion || (len(region) >= 2 && len(region) <= 4 && isLetters(region)) || (len(region) == 3 && isDigits(region))
}

func isLetters(s string) bool {
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// primary returns the lowercase primary subtag: "pt-BR" → "pt".
func primary(lang string) string {
	p, _, _ := strings.Cut(lang, "-")
	return strings.ToLower(p)
}

func (l Languages) canTranscribe(lang string) bool {
	return slices.ContainsFunc(l.Transcribe, func(s string) bool { return primary(s) == primary(lang) })
}

func (l Languages) canTranslate(src, tgt string) bool {
	if primary(src) == primary(tgt) {
		return true
	}
	want := primary(src) + "-" + primary(tgt)
	return slices.ContainsFunc(l.Translate, func(p string) bool { return strings.ToLower(p) == want })
}

// check says whether a mode can run with these languages. Empty languages
// were defaulted by the caller.
func (l Languages) check(mode Mode, src, tgt string) error {
	needTranscribe := func(param, lang, side string) error {
		if !l.canTranscribe(lang) {
			return invalid(param, CodeUnsupportedLanguage,
				"no configured transcription engine handles %q (the %s side's speech must be recognized in %s mode); available: %s",
				lang, side, mode, strings.Join(l.Transcribe, ", "))
		}
		return nil
	}
	needTranslate := func(param, from, to string) error {
		if !l.canTranslate(from, to) {
			return invalid(param, CodeUnsupportedLanguage,
				"no configured translation engine translates %s to %s; available pairs: %s", from, to, strings.Join(l.Translate, ", "))
		}
		return nil
	}
	switch mode {
	case ModeTranscription:
		if err := needTranscribe("source_language", src, "customer"); err != nil {
			return err
		}
		return needTranscribe("target_language", tgt, "agent")
	case ModeAIAgent, ModeHelpChatVoice:
		return needTranscribe("source_language", src, "customer")
	case ModeAssistiveTranslation, ModeBidirectionalTranslation:
		for _, err := range []error{
			needTranscribe("source_language", src, "customer"),
			needTranscribe("target_language", tgt, "agent"),
			needTranslate("target_language", src, tgt),
			needTranslate("source_language", tgt, src),
		} {
			if err != nil {
				return err
			}
		}
	}
	return nil
}
