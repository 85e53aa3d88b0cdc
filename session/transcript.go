package session

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/voxgate/voxgate/id"
	"github.com/voxgate/voxgate/store"
)

// Transcript events (SPEC §3).
const (
	EventTranscriptSegment = "transcript.segment"
	EventTranscriptReady   = "transcript.ready"
)

// Transcript is a session's transcript: its final turns in order.
type Transcript struct {
	ID        string             `json:"id"` // trn_ + the session ID
	Object    string             `json:"object"`
	SessionID string             `json:"session_id"`
	Status    string             `json:"status"` // in_progress, completed once the session ended
	Turns     []Turn             `json:"turns"`
	Metadata  TranscriptMetadata `json:"metadata"`
}

// TranscriptMetadata sums a transcript up.
type TranscriptMetadata struct {
	TotalTurns        int      `json:"total_turns"`
	DurationSeconds   float64  `json:"duration_seconds"`
	LanguagesDetected []string `json:"languages_detected"`
}

// Turn is one final turn: what one speaker said, between StartMS and EndMS
// of the session's media time.
type Turn struct {
	Sequence    int          `json:"sequence"`
	Speaker     Speaker      `json:"speaker"`
	Language    string       `json:"language"`
	Text        string       `json:"text"`
	Translation *Translation `json:"translation,omitempty"`
	StartMS     int64        `json:"start_ms"`
	EndMS       int64        `json:"end_ms"`
	Confidence  float64      `json:"confidence"`
	Timestamp   time.Time    `json:"timestamp"`
}

// Translation is a turn in the other side's language.
type Translation struct {
	Language string `json:"language"`
	Text     string `json:"text"`
}

// AddTurn stores a session's next final turn (numbering it) and reports it
// as transcript.segment, to the outbox and to live subscribers.
func (m *Manager) AddTurn(ctx context.Context, sessionID string, t Turn) (Turn, error) {
	_, sc, err := m.Peek(ctx, sessionID)
	if err != nil {
		return Turn{}, err
	}
	var data json.RawMessage
	err = m.store.Update(ctx, func(tx *store.Tx) error {
		seq, err := tx.NextTurn(sessionID)
		if err != nil {
			return err
		}
		t.Sequence, t.Timestamp = seq, tx.Now()
		row := store.Turn{SessionID: sessionID, Sequence: seq, Speaker: string(t.Speaker), Language: t.Language, Text: t.Text,
			StartMS: t.StartMS, EndMS: t.EndMS, Confidence: t.Confidence, Created: t.Timestamp}
		if t.Translation != nil {
			row.TranslationLanguage, row.TranslationText = t.Translation.Language, t.Translation.Text
		}
		if err := tx.AddTurn(row); err != nil {
			return err
		}
		if data, err = json.Marshal(map[string]any{"session_id": sessionID, "turn": t}); err != nil {
			return err
		}
		return tx.AddEvent(store.Event{ID: id.New(id.Event), Scope: sc, Type: EventTranscriptSegment, SessionID: sessionID, Data: data, Created: t.Timestamp})
	})
	if err != nil {
		return Turn{}, err
	}
	m.publish(sessionID, EventTranscriptSegment, data)
	return t, nil
}

// Transcript returns a session's transcript from its stored turns.
func (m *Manager) Transcript(ctx context.Context, sc store.Scope, sessionID string) (Transcript, error) {
	s, err := m.Get(ctx, sc, sessionID)
	if err != nil {
		return Transcript{}, err
	}
	rows, err := m.store.Turns(ctx, sessionID)
	if err != nil {
		return Transcript{}, err
	}
	tr := Transcript{ID: id.Transcript + "_" + sessionID, Object: "transcript", SessionID: sessionID, Status: "in_progress", Turns: []Turn{}}
	if s.Ended() {
		tr.Status = "completed"
	}
	tr.Metadata.LanguagesDetected = []string{}
	for _, r := range rows {
		t := Turn{Sequence: r.Sequence, Speaker: Speaker(r.Speaker), Language: r.Language, Text: r.Text,
			StartMS: r.StartMS, EndMS: r.EndMS, Confidence: r.Confidence, Timestamp: r.Created}
		if r.TranslationText != "" {
			t.Translation = &Translation{Language: r.TranslationLanguage, Text: r.TranslationText}
		}
		tr.Turns = append(tr.Turns, t)
		if r.Language != "" && !slices.Contains(tr.Metadata.LanguagesDetected, r.Language) {
			tr.Metadata.LanguagesDetected = append(tr.Metadata.LanguagesDetected, r.Language)
		}
		tr.Metadata.DurationSeconds = max(tr.Metadata.DurationSeconds, float64(r.EndMS)/1000)
	}
	tr.Metadata.TotalTurns = len(tr.Turns)
	return tr, nil
}

// Text renders the transcript as plain text, one turn a line.
func (tr Transcript) Text() string {
	var b strings.Builder
	for _, t := range tr.Turns {
		fmt.Fprintf(&b, "[%s] %s: %s\n", clockTime(t.StartMS, "", false), t.Speaker, t.Text)
		if t.Translation != nil {
			fmt.Fprintf(&b, "    (%s) %s\n", t.Translation.Language, t.Translation.Text)
		}
	}
	return b.String()
}

// SRT renders the transcript as SubRip subtitles.
func (tr Transcript) SRT() string {
	var b strings.Builder
	for i, t := range tr.Turns {
		fmt.Fprintf(&b, "%d\n%s --> %s\n%s: %s\n\n", i+1, clockTime(t.StartMS, ",", true), clockTime(t.EndMS, ",", true), t.Speaker, cueText(t.Text))
	}
	return b.String()
}

// VTT renders the transcript as WebVTT, each cue voiced by its speaker.
func (tr Transcript) VTT() string {
	var b strings.Builder
	b.WriteString("WEBVTT\n\n")
	for _, t := range tr.Turns {
		text := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(cueText(t.Text))
		fmt.Fprintf(&b, "%d\n%s --> %s\n<v %s>%s\n\n", t.Sequence, clockTime(t.StartMS, ".", true), clockTime(t.EndMS, ".", true), t.Speaker, text)
	}
	return b.String()
}

// cueText keeps a cue on its lines: a blank line would end it early.
func cueText(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "-->", "->")), " ")
}

// clockTime formats milliseconds as hh:mm:ss, with sep and milliseconds when ms is set.
func clockTime(msTotal int64, sep string, ms bool) string {
	msTotal = max(msTotal, 0)
	h, m, s := msTotal/3600000, msTotal/60000%60, msTotal/1000%60
	if !ms {
		return fmt.Sprintf("%02d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%02d:%02d:%02d%s%03d", h, m, s, sep, msTotal%1000)
}
