package store

import (
	"context"
	"time"
)

// Turn is one final transcript turn of a session: what one speaker said,
// with its translation when the session translates.
type Turn struct {
	SessionID           string
	Sequence            int
	Speaker             string
	Language            string
	Text                string
	TranslationLanguage string
	TranslationText     string
	StartMS, EndMS      int64
	Confidence          float64
	Created             time.Time
}

// AddTurn writes a turn; sequences are unique per session.
func (tx *Tx) AddTurn(t Turn) error {
	_, err := tx.tx.ExecContext(tx.ctx, tx.s.rebind(`INSERT INTO transcript_turns (session_id, sequence, speaker, language, text,
		translation_language, translation_text, start_ms, end_ms, confidence, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		t.SessionID, t.Sequence, t.Speaker, t.Language, t.Text, t.TranslationLanguage, t.TranslationText, t.StartMS, t.EndMS, t.Confidence, micros(t.Created))
	return err
}

// NextTurn returns the sequence number the session's next turn takes.
func (tx *Tx) NextTurn(sessionID string) (int, error) {
	var n int
	err := tx.tx.QueryRowContext(tx.ctx, tx.s.rebind(`SELECT COALESCE(MAX(sequence), 0) FROM transcript_turns WHERE session_id = ?`), sessionID).Scan(&n)
	return n + 1, err
}

// Turns returns a session's turns in order.
func (s *Store) Turns(ctx context.Context, sessionID string) ([]Turn, error) {
	rows, err := s.read.QueryContext(ctx, s.rebind(`SELECT session_id, sequence, speaker, language, text, translation_language,
		translation_text, start_ms, end_ms, confidence, created_at FROM transcript_turns WHERE session_id = ? ORDER BY sequence`), sessionID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Turn
	for rows.Next() {
		var (
			t       Turn
			created int64
		)
		if err := rows.Scan(&t.SessionID, &t.Sequence, &t.Speaker, &t.Language, &t.Text, &t.TranslationLanguage,
			&t.TranslationText, &t.StartMS, &t.EndMS, &t.Confidence, &created); err != nil {
			return nil, err
		}
		t.Created = fromMicros(created)
		out = append(out, t)
	}
	return out, rows.Err()
}
