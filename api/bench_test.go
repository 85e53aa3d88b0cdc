package api_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/voxgate/voxgate/store/storetest"
)

// BenchmarkSessions measures POST /v1/sessions and GET /v1/sessions/:id over
// loopback HTTP on each engine, requests issued from parallel clients.
func BenchmarkSessions(b *testing.B) {
	for _, e := range storetest.Engines(b) {
		b.Run(e.Name, func(b *testing.B) {
			g := startBenchGateway(b, e)
			key := g.key(true)
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			post := func() string {
				req, _ := http.NewRequestWithContext(context.Background(), "POST", g.srv.URL+"/v1/sessions", strings.NewReader(`{"mode":"media_stream","metadata":{"ticket":"T-1"}}`))
				req.Header.Set("Authorization", "Bearer "+key)
				req.Header.Set("Content-Type", "application/json")
				res, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != 201 {
					b.Fatalf("%d %s", res.StatusCode, body)
				}
				i := strings.Index(string(body), `"id":"`)
				return string(body[i+6 : i+6+31])
			}
			b.Run("create", func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						post()
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
			})
			sid := post()
			b.Run("get", func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						req, _ := http.NewRequestWithContext(context.Background(), "GET", g.srv.URL+"/v1/sessions/"+sid, nil)
						req.Header.Set("Authorization", "Bearer "+key)
						res, err := client.Do(req)
						if err != nil {
							b.Fatal(err)
						}
						_, _ = io.Copy(io.Discard, res.Body)
						res.Body.Close()
						if res.StatusCode != 200 {
							b.Fatalf("status %d", res.StatusCode)
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
			})
		})
	}
}
