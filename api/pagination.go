package api

import (
	"net/http"
	"strconv"

	"github.com/voxgate/voxgate/id"
	"github.com/voxgate/voxgate/store"
)

// listQuery reads limit, starting_after and ending_before; cursors must be
// IDs of the listed resource.
func listQuery(r *http.Request, prefix string) (store.ListQuery, error) {
	q := r.URL.Query()
	lq := store.ListQuery{Limit: 20, StartingAfter: q.Get("starting_after"), EndingBefore: q.Get("ending_before")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return lq, invalidParam("limit", "invalid_request", "limit must be an integer from 1 to 100.")
		}
		lq.Limit = n
	}
	if lq.StartingAfter != "" && lq.EndingBefore != "" {
		return lq, invalidParam("ending_before", "invalid_request", "Use starting_after or ending_before, not both.")
	}
	for param, cursor := range map[string]string{"starting_after": lq.StartingAfter, "ending_before": lq.EndingBefore} {
		if cursor != "" && !id.HasPrefix(cursor, prefix) {
			return lq, invalidParam(param, "invalid_cursor", "%s must be an ID from this list (%s_…).", param, prefix)
		}
	}
	return lq, nil
}

// list is the envelope of a page (SPEC §1).
type list[T any] struct {
	Object     string  `json:"object"`
	Data       []T     `json:"data"`
	HasMore    bool    `json:"has_more"`
	NextCursor *string `json:"next_cursor"`
	URL        string  `json:"url"`
}

func newList[T any](r *http.Request, data []T, more bool, idOf func(T) string) list[T] {
	l := list[T]{Object: "list", Data: data, HasMore: more, URL: r.URL.Path}
	if l.Data == nil {
		l.Data = []T{}
	}
	if more && len(data) > 0 {
		next := idOf(data[len(data)-1])
		l.NextCursor = &next
	}
	return l
}
