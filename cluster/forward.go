package cluster

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"

	"go.uber.org/zap"
)

// forwardHeader carries the cluster's secret on a request one node forwards
// to another: the receiver answers it itself, whatever placement says.
const forwardHeader = "Voxgate-Forwarded"

type ctxTarget struct{}

// Forward wraps the handler of a route that creates a session (place) or
// commands a live one named by the path's {id} (api.Cluster). The request
// is proxied, WebSocket upgrades included, to the node placement picks or
// the node that owns the session, with the caller's credentials, and that
// node's answer is returned unchanged; next serves it when that node is
// this one, when no alive node owns the session, or when the request was
// forwarded already.
func (c *Cluster) Forward(next http.Handler, place bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get(forwardHeader); got != "" {
			r.Header.Del(forwardHeader)
			if subtle.ConstantTimeCompare([]byte(got), []byte(c.secret)) == 1 {
				next.ServeHTTP(w, r)
				return
			}
		}
		var (
			n   Node
			ok  bool
			err error
		)
		if place {
			n, ok, err = c.Pick(r.Context())
		} else {
			n, ok, err = c.Owner(r.Context(), r.PathValue("id"))
		}
		if err != nil {
			c.log.Warn("cluster lookup failed: answering here", zap.String("path", r.URL.Path), zap.Error(err))
		}
		if err != nil || !ok || n.ID == c.cfg.NodeID {
			next.ServeHTTP(w, r)
			return
		}
		target, err := url.Parse(n.Addr)
		if err != nil {
			c.log.Error("node address", zap.String("node", n.ID), zap.Error(err))
			next.ServeHTTP(w, r)
			return
		}
		// The answer is the other node's, request ID included.
		w.Header().Set("Voxgate-Node", n.ID)
		reqID := w.Header().Get("X-Request-ID")
		w.Header().Del("X-Request-ID")
		r = r.WithContext(context.WithValue(r.Context(), ctxTarget{}, target))
		r.Header.Set("X-Request-ID", reqID)
		c.proxy.ServeHTTP(w, r)
	})
}

func (c *Cluster) newProxy() *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(pr.In.Context().Value(ctxTarget{}).(*url.URL))
			pr.SetXForwarded()
			pr.Out.Header.Set(forwardHeader, c.secret)
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			c.log.Warn("forwarding to the owner node failed", zap.String("path", r.URL.Path), zap.Error(err))
			reqID := r.Header.Get("X-Request-ID")
			w.Header().Set("X-Request-ID", reqID)
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, `{"error":{"type":"api_error","code":"node_unavailable","message":"The node running this session did not answer; retry shortly.","request_id":%q,"retry_after":1}}`+"\n", reqID)
		},
	}
}
