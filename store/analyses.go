package store

import "context"

// AnalysesWithStatus returns up to limit analyses with the status, oldest
// first, in every scope (the background worker's queue).
func (s *Store) AnalysesWithStatus(ctx context.Context, status string, limit int) ([]Record, error) {
	rows, err := s.read.QueryContext(ctx, s.rebind(`SELECT `+columns(Analyses)+
		` FROM analyses WHERE status = ? ORDER BY id LIMIT ?`), status, limit)
	if err != nil {
		return nil, err
	}
	return scanAll(Analyses, rows)
}
