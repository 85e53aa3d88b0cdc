package session

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/voxgate/voxgate/speech/synth"
	"github.com/voxgate/voxgate/speech/translate"
)

// session.error codes of the translation modes (also stored, so webhooks
// carry them); the final goes out untranslated, or unspoken, and the audio
// flows on.
const (
	ErrCodeTranslationUnavailable = "translation_unavailable"
	ErrCodeSynthesisUnavailable   = "synthesis_unavailable"
)

// TranslationConfig chooses the translation engine of translation modes.
type TranslationConfig struct {
	// Engine is apertium (the installed Debian language pairs; default) or
	// libretranslate.
	Engine string `yaml:"engine"`
	// URL is LibreTranslate's base URL.
	URL string `yaml:"url"`
	// APIKey is sent to LibreTranslate when set.
	APIKey string `yaml:"api_key"`
}

// SynthesisConfig chooses the speech synthesis engine of translation modes.
type SynthesisConfig struct {
	// Engine is offline (flite for English, espeak-ng for other languages;
	// default) or openai (an OpenAI-compatible /v1/audio/speech server).
	Engine string `yaml:"engine"`
	// URL is the openai engine's base URL.
	URL string `yaml:"url"`
	// Model is the openai engine's model (default tts-1).
	Model string `yaml:"model"`
	// Voice is the engine's voice (empty: its default for the language).
	Voice string `yaml:"voice"`
	// APIKey is sent to the openai engine when set.
	APIKey string `yaml:"api_key"`
}

// engineTimeout bounds one translation or synthesis.
const engineTimeout = 10 * time.Second

func (m Mode) translates() bool {
	return m == ModeAssistiveTranslation || m == ModeBidirectionalTranslation
}

// transcribes says whether sessions of the mode recognize what each side says.
func (m Mode) transcribes() bool { return m == ModeTranscription || m.translates() }

// Engines are kept per process: Apertium's pipelines stay warm, and the C
// synthesizers load their voices once.
var engines struct {
	sync.Mutex
	translators map[TranslationConfig]translate.Translator
	synths      map[SynthesisConfig]synth.Synthesizer
}

// translatorFor returns the process's translator for c, opening it on first use.
func translatorFor(c TranslationConfig, pairs []string) (translate.Translator, error) {
	engines.Lock()
	defer engines.Unlock()
	if t, ok := engines.translators[c]; ok {
		return t, nil
	}
	var t translate.Translator
	switch c.Engine {
	case "", "apertium":
		a, err := translate.NewApertium("")
		if err != nil {
			return nil, err
		}
		t = a
	case "libretranslate":
		var ps []translate.Pair
		for _, p := range pairs {
			from, to, _ := strings.Cut(p, "-")
			ps = append(ps, translate.Pair{From: primary(from), To: primary(to)})
		}
		t = translate.NewLibreTranslate(c.URL, c.APIKey, ps, &http.Client{Timeout: engineTimeout})
	default:
		return nil, fmt.Errorf("unknown translation engine %q", c.Engine)
	}
	if engines.translators == nil {
		engines.translators = map[TranslationConfig]translate.Translator{}
	}
	engines.translators[c] = t
	return t, nil
}

// synthesizerFor returns the process's synthesizer for c, opening it on first use.
func synthesizerFor(c SynthesisConfig) (synth.Synthesizer, error) {
	engines.Lock()
	defer engines.Unlock()
	if s, ok := engines.synths[c]; ok {
		return s, nil
	}
	var s synth.Synthesizer
	var err error
	switch c.Engine {
	case "", "offline":
		s, err = synth.NewOffline()
	case "openai":
		model := c.Model
		if model == "" {
			model = "tts-1"
		}
		s, err = synth.NewOpenAI(c.URL, c.APIKey, model, "pcm", &http.Client{Timeout: engineTimeout})
	default:
		err = fmt.Errorf("unknown synthesis engine %q", c.Engine)
	}
	if err != nil {
		return nil, err
	}
	if engines.synths == nil {
		engines.synths = map[SynthesisConfig]synth.Synthesizer{}
	}
	engines.synths[c] = s
	return s, nil
}

// installedPairs lists the translation pairs of the installed Apertium
// language packages, as "src-tgt".
func installedPairs() []string {
	a, err := translate.NewApertium("")
	if err != nil {
		return []string{}
	}
	pairs := []string{}
	for _, p := range a.Pairs() {
		pairs = append(pairs, p.String())
	}
	slices.Sort(pairs)
	return pairs
}

// interpreter translates each side's finals into the other side's language
// and, where the mode says so, speaks them to the other side: both ways in
// bidirectional_translation; in assistive_translation the customer's are
// subtitles for the agent and only the agent's are spoken to the customer.
// Each side's translations are synthesized on a goroutine of their own, in
// the order spoken, so a slow synthesis server does not hold up that side's
// recognition.
type interpreter struct {
	l        *live
	lang     [2]string            // customer, agent (set before the clock starts)
	says     [2]chan *Translation // to synthesize, by the side that spoke
	wg       sync.WaitGroup
	closing  atomic.Bool
	reported [2]atomic.Bool
}

// sayQueue is how many translations of one side may wait for synthesis;
// more are dropped (and logged).
const sayQueue = 16

func (l *live) newInterpreter() *interpreter {
	in := &interpreter{l: l}
	for i, spk := range [2]Speaker{SpeakerCustomer, SpeakerAgent} {
		in.says[i] = make(chan *Translation, sayQueue)
		in.wg.Add(1)
		go in.speakLoop(spk, in.says[i])
	}
	return in
}

// setLanguages gives a live session its languages (customer, agent) before
// its clock starts.
func (l *live) setLanguages(src, tgt string) {
	if l.xl == nil {
		return
	}
	l.xl.lang = [2]string{src, tgt}
	l.sameLanguage = primary(src) == primary(tgt)
}

// translate returns a final of spk in the other side's language; nil when
// the languages are the same, or when the engine failed (reported).
func (in *interpreter) translate(spk Speaker, text string) *Translation {
	from, to := in.lang[sideOf(spk)], in.lang[1-sideOf(spk)]
	if primary(from) == primary(to) || text == "" {
		return nil
	}
	cfg := in.l.m.cfg
	t, err := translatorFor(cfg.Translation, cfg.Languages.Translate)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), engineTimeout)
		text, err = t.Translate(ctx, text, from, to)
		cancel()
	}
	if err != nil {
		in.report(0, ErrCodeTranslationUnavailable, fmt.Sprintf("translation %s to %s: %v", from, to, err))
		return nil
	}
	return &Translation{Language: to, Text: text}
}

// say queues a translation of spk's final to be spoken to the other side,
// on the translated track, after what is already playing there.
func (in *interpreter) say(spk Speaker, tl *Translation) {
	if in.l.mode == ModeAssistiveTranslation && spk == SpeakerCustomer {
		return // subtitles only
	}
	select {
	case in.says[sideOf(spk)] <- tl:
	default:
		in.l.log.Warn("translation not spoken: synthesis is behind", zap.String("speaker", string(spk)))
	}
}

// speakLoop synthesizes one side's translations and plays them.
func (in *interpreter) speakLoop(spk Speaker, says <-chan *Translation) {
	defer in.wg.Done()
	cfg := in.l.m.cfg.Synthesis
	for tl := range says {
		if in.closing.Load() {
			continue // the session ended: nobody would hear it
		}
		s, err := synthesizerFor(cfg)
		var pcm []int16
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), engineTimeout)
			pcm, err = s.Synthesize(ctx, tl.Text, tl.Language, cfg.Voice)
			cancel()
		}
		if err != nil {
			in.report(1, ErrCodeSynthesisUnavailable, fmt.Sprintf("speech synthesis in %s: %v", tl.Language, err))
			continue
		}
		if len(pcm) > 0 {
			in.l.speak(other(spk), Translated, pcm)
		}
	}
}

// close ends the synthesis goroutines once the last finals were handed
// over (after the recognizers closed), dropping what waits.
func (in *interpreter) close() {
	in.closing.Store(true)
	for _, c := range in.says {
		close(c)
	}
	in.wg.Wait()
}

// report tells subscribers and webhooks of an engine failure, once per kind
// a session.
func (in *interpreter) report(kind int, code, msg string) {
	in.l.log.Error("translation mode engine failed", zap.String("code", code), zap.String("error", msg))
	if in.reported[kind].Swap(true) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), engineTimeout)
	defer cancel()
	if err := in.l.m.Emit(ctx, in.l.id, "session.error", map[string]any{"session_id": in.l.id, "code": code, "message": msg}); err != nil {
		in.l.log.Warn(code+" not reported", zap.Error(err))
	}
}
