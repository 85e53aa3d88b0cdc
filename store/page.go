package store

import (
	"context"
	"slices"
	"strings"
)

// pageQuery finishes a list query: the cursor condition, the order and a
// limit one past the page so that the caller learns whether more exist.
func pageQuery(lq ListQuery, where []string, args []any) (tail string, _ []any, ascending bool) {
	order := "DESC"
	switch {
	case lq.StartingAfter != "":
		where = append(where, "id < ?")
		args = append(args, lq.StartingAfter)
	case lq.EndingBefore != "":
		where = append(where, "id > ?")
		args = append(args, lq.EndingBefore)
		order, ascending = "ASC", true
	}
	args = append(args, lq.Limit+1)
	return ` WHERE ` + strings.Join(where, " AND ") + ` ORDER BY id ` + order + ` LIMIT ?`, args, ascending
}

// queryPage runs a page query and scans its rows, newest first.
func queryPage[T any](ctx context.Context, s *Store, head string, lq ListQuery, where []string, args []any, scan func(scanner) (T, error)) ([]T, bool, error) {
	tail, args, ascending := pageQuery(lq, where, args)
	rows, err := s.read.QueryContext(ctx, s.rebind(head+tail), args...)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, false, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	more := len(out) > lq.Limit
	if more {
		out = out[:lq.Limit]
	}
	if ascending { // ending_before walks backwards; present newest first
		slices.Reverse(out)
	}
	return out, more, nil
}
