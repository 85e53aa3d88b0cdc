// Package web serves the /demo page: a plain HTML and JavaScript client,
// embedded in the binary, that joins a session from a browser over WebRTC,
// shows its events from the /connect stream, and dials and hangs up calls.
package web

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed demo
var files embed.FS

// Demo serves the demo page and its script under /demo/.
func Demo() http.Handler {
	sub, err := fs.Sub(files, "demo")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	fileServer := http.StripPrefix("/demo/", http.FileServer(http.FS(sub)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/demo" {
			http.Redirect(w, r, "/demo/"+queryOf(r), http.StatusFound)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws: wss:; media-src 'self' blob: mediastream:; style-src 'self'")
		fileServer.ServeHTTP(w, r)
	})
}

func queryOf(r *http.Request) string {
	if r.URL.RawQuery == "" {
		return ""
	}
	return "?" + r.URL.RawQuery
}
