package api

import (
	"net/http"
	"slices"
	"strings"
)

// router registers routes on a ServeMux and answers unknown paths (404) and
// wrong methods (405, with Allow) in the error envelope.
type router struct {
	mux     *http.ServeMux
	methods map[string][]string // path pattern → methods
	wrap    func(pattern string, h http.Handler) http.Handler
}

func newRouter(wrap func(pattern string, h http.Handler) http.Handler) *router {
	return &router{mux: http.NewServeMux(), methods: map[string][]string{}, wrap: wrap}
}

// handle registers "METHOD /path" like ServeMux.
func (rt *router) handle(pattern string, h http.Handler) {
	method, path, _ := strings.Cut(pattern, " ")
	rt.methods[path] = append(rt.methods[path], method)
	rt.mux.Handle(pattern, rt.wrap(pattern, h))
}

// finish adds the 405 answers for every registered path and the 404 answer.
func (rt *router) finish() http.Handler {
	for path, methods := range rt.methods {
		if slices.Contains(methods, http.MethodGet) && !slices.Contains(methods, http.MethodHead) {
			methods = append(methods, http.MethodHead)
		}
		allow := strings.Join(methods, ", ")
		rt.mux.Handle(path, rt.wrap(path, apiHandler(func(w http.ResponseWriter, r *http.Request) error {
			w.Header().Set("Allow", allow)
			return apiError(http.StatusMethodNotAllowed, typeInvalidRequest, "method_not_allowed",
				"%s is not allowed on %s; allowed: %s.", r.Method, r.URL.Path, allow)
		})))
	}
	rt.mux.Handle("/", rt.wrap("/", apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		return apiError(http.StatusNotFound, typeInvalidRequest, "route_not_found", "No route %s %s.", r.Method, r.URL.Path)
	})))
	return rt.mux
}
