package webhook_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voxgate/voxgate/id"
	"github.com/voxgate/voxgate/store"
	"github.com/voxgate/voxgate/store/storetest"
	"github.com/voxgate/voxgate/webhook"
)

// BenchmarkDelivery measures batches of 100 events going from the outbox to
// a local receiver (dispatch, lease, signed POST, outcome recorded) through
// 1 or 8 endpoints, each with at most 2 in flight, 8 workers.
func BenchmarkDelivery(b *testing.B) {
	for _, e := range storetest.Engines(b) {
		for _, endpoints := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/endpoints=%d", e.Name, endpoints), func(b *testing.B) { benchDelivery(b, e, endpoints) })
		}
	}
}

func benchDelivery(b *testing.B, e storetest.Engine, endpoints int) {
	st := storetest.Open(b, e)
	var got atomic.Int64
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got.Add(1) }))
	defer rc.Close()
	svc, err := webhook.New(webhook.Config{AllowPrivate: true, PollInterval: 10 * time.Millisecond}, st, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	url, events := rc.URL, []string{"*"}
	for range endpoints {
		if _, err := svc.Create(context.Background(), scope, webhook.EndpointParams{URL: &url, Events: &events}); err != nil {
			b.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { svc.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	const batch = 100
	n := int64(0)
	for b.Loop() {
		err := st.Update(context.Background(), func(tx *store.Tx) error {
			for range batch {
				ev := store.Event{ID: id.New(id.Event), Scope: scope, Type: "call.answered", Data: []byte(`{}`), Created: tx.Now()}
				if err := tx.AddEvent(ev); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		n += batch * int64(endpoints)
		svc.Kick()
		for got.Load() < n {
			time.Sleep(200 * time.Microsecond)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "deliveries/s")
}
