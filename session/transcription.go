package session

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/voxgate/voxgate/speech/transcribe"
	"github.com/voxgate/voxgate/store"
)

// Live transcript messages for subscribers (SPEC §4.1): partials while a
// speaker talks, then the final of the turn (same segment_id).
const (
	EventTranscriptPartial = "transcript.partial"
	EventTranscriptFinal   = "transcript.final"
)

// ErrCodeTranscriptionUnavailable is the session.error code sent when the
// transcription engine or its model cannot be loaded (also stored, so
// webhooks carry it); the audio flows on.
const ErrCodeTranscriptionUnavailable = "transcription_unavailable"

// TranscriptionConfig chooses the engine that transcribes sessions.
type TranscriptionConfig struct {
	// Engine is a registered engine name (speech/transcribe). Default pocketsphinx.
	Engine string `yaml:"engine"`
	// Model is the engine's model (empty: the engine's default).
	Model string `yaml:"model"`
	// URL is a remote engine's server (whisper).
	URL string `yaml:"url"`
	// Languages overrides the engine for some languages (by primary
	// subtag, "es"): a side speaking one is recognized by that engine.
	Languages map[string]TranscriptionConfig `yaml:"languages"`
	// APIKey authenticates to a remote engine (stream).
	APIKey string `yaml:"api_key"`
	// NarrowbandModel, when set, is the model that recognizes a speaker
	// whose audio comes from an 8 kHz leg (G.711): for pocketsphinx, the
	// telephone adaptation scripts/narrowband-model.sh builds.
	NarrowbandModel string `yaml:"narrowband_model"`
}

// forLanguage is the engine that recognizes lang.
func (c TranscriptionConfig) forLanguage(lang string) TranscriptionConfig {
	if o, ok := c.Languages[primary(lang)]; ok {
		return o
	}
	return c
}

// transcriber feeds what each side says, tick by tick, to that side's
// recognizer. The clock only copies a frame into a bounded queue; the
// recognizers run on their own goroutines.
type transcriber struct {
	turns    [2]*transcribe.Turns // customer, agent
	reported atomic.Bool          // a failure was reported (session.error)
	narrow   [2]atomic.Bool       // the side's audio comes from an 8 kHz leg
	side     [2][FrameSamples]int32
	out      [FrameSamples]int16
}

// newTranscriber starts one recognizer per side for a session in
// transcription or a translation mode. Each loads its engine on its own goroutine while the
// audio queues, so nothing said at the start is lost; an engine or model
// that cannot be loaded gives subscribers session.error, and the audio
// flows on.
func (l *live) newTranscriber() *transcriber {
	cfg := l.m.cfg.Transcription
	tr := &transcriber{}
	for i, spk := range []Speaker{SpeakerCustomer, SpeakerAgent} {
		lang := ""
		fail := func(err error) {
			l.log.Error("transcription unavailable", zap.String("engine", cfg.Engine), zap.String("speaker", string(spk)), zap.Error(err))
			if tr.reported.Swap(true) {
				return // one report a session
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			data := map[string]any{"session_id": l.id, "code": ErrCodeTranscriptionUnavailable,
				"message": fmt.Sprintf("transcription engine %s: %v", cfg.Engine, err)}
			if err := l.m.Emit(ctx, l.id, "session.error", data); err != nil {
				l.log.Warn("transcription_unavailable not reported", zap.Error(err))
			}
		}
		open := func() (transcribe.Stream, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if s, _, err := l.m.Peek(ctx, l.id); err == nil {
				lang = deref(s.SourceLanguage)
				if spk == SpeakerAgent {
					lang = deref(s.TargetLanguage)
				}
			}
			c := cfg.forLanguage(lang)
			e, err := transcribe.Open(c.Engine, transcribe.Options{Model: c.Model, URL: c.URL, APIKey: c.APIKey})
			if err != nil {
				return nil, err
			}
			wide, err := e.NewStream()
			if err != nil || c.NarrowbandModel == "" {
				return wide, err
			}
			nb, err := transcribe.Open(c.Engine, transcribe.Options{Model: c.NarrowbandModel, URL: c.URL, APIKey: c.APIKey})
			if err != nil { // wideband recognition of every leg goes on
				fail(fmt.Errorf("narrowband model: %w", err))
				return wide, nil
			}
			return transcribe.ByBand(wide, nb.NewStream, tr.narrow[i].Load), nil
		}
		tr.turns[i] = transcribe.NewTurns(open, l.transcriptSink(spk, &lang), fail)
	}
	return tr
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// transcriptSink turns a speaker's results into transcript messages: each
// partial goes to subscribers, each final is stored as a turn (which sends
// transcript.segment) and goes to subscribers as transcript.final.
func (l *live) transcriptSink(spk Speaker, lang *string) func(transcribe.Result) {
	n := 1
	return func(r transcribe.Result) {
		msg := map[string]any{"segment_id": fmt.Sprintf("seg_%s_%d", spk, n), "speaker": spk, "language": *lang,
			"text": r.Text, "start_ms": r.StartMS, "end_ms": r.EndMS, "confidence": r.Confidence}
		typ := EventTranscriptPartial
		var tl *Translation
		if r.Final {
			typ = EventTranscriptFinal
			n++
			if l.xl != nil {
				if tl = l.xl.translate(spk, r.Text); tl != nil {
					msg["translation"] = tl
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			t, err := l.m.AddTurn(ctx, l.id, Turn{Speaker: spk, Language: *lang, Text: r.Text, Translation: tl, StartMS: r.StartMS, EndMS: r.EndMS, Confidence: r.Confidence})
			cancel()
			if err != nil {
				l.log.Error("transcript turn not stored", zap.Error(err))
			} else {
				msg["sequence"] = t.Sequence
			}
		}
		data, err := json.Marshal(msg)
		if err != nil {
			return
		}
		l.broadcast(Event{Type: typ, Data: data})
		if tl != nil {
			l.xl.say(spk, tl)
		}
	}
}

// transcribe hands the tick's audio of each side (its original sources,
// silence when none plays) to that side's recognizer (called by the clock,
// with the live session's lock held).
func (l *live) transcribe() {
	tr := l.tr
	if tr == nil {
		return
	}
	for i := range tr.side {
		clear(tr.side[i][:])
	}
	var playing, narrow [2]bool
	for _, src := range l.sources {
		if src.cur == nil || src.track != Original || !src.cur.hasWide {
			continue
		}
		i := sideOf(src.speaker)
		for j, v := range src.cur.wide {
			tr.side[i][j] += int32(v)
		}
		playing[i] = true
		if src.leg != nil && src.leg.leg.Format().SampleRate < Rate {
			narrow[i] = true
		}
	}
	for i := range playing {
		if playing[i] { // a side keeps its band through silence
			tr.narrow[i].Store(narrow[i])
		}
	}
	for i, t := range tr.turns {
		for j, v := range tr.side[i] {
			tr.out[j] = clip(v)
		}
		t.Push(tr.out[:], l.ms) // a recognizer that is behind drops (counted)
	}
}

// close finishes the turns in progress (their finals are stored) and
// releases the recognizers.
func (tr *transcriber) close(log *zap.Logger) {
	for i, t := range tr.turns {
		t.Close()
		if d := t.Dropped(); d > 0 {
			log.Warn("transcription fell behind", zap.Int("side", i), zap.Uint64("dropped_frames", d))
		}
	}
}

// transcriptReady reports a transcribed session's transcript complete,
// once it has ended, when it ever started (audio or a leg arrived). An
// agent-mode session without a stream_url bot is transcribed by its llm
// brain (agentlink).
func (m *Manager) transcriptReady(ctx context.Context, sc store.Scope, s Session) {
	brain := s.Mode.IsAgentMode() && s.AgentID != nil && s.BotStreamURL == nil
	if !s.Mode.transcribes() && !brain || s.StartedAt == nil {
		return
	}
	tr, err := m.Transcript(ctx, sc, s.ID)
	if err == nil {
		err = m.Emit(ctx, s.ID, EventTranscriptReady, tr)
	}
	if err != nil {
		m.log.Error("transcript.ready not sent", zap.String("session_id", s.ID), zap.Error(err))
	}
}
