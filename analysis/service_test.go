package analysis_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/voxgate/voxgate/analysis"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/store"
	"github.com/voxgate/voxgate/store/storetest"
)

// TestQueuedAnalysesSurviveARestart queues analyses with no worker
// running (a crash right after the 202), then starts one on a reopened
// store: the analysis completes; one whose stored form is unreadable fails
// with analysis.failed.
func TestQueuedAnalysesSurviveARestart(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			cfg := e.Config(t)
			ctx := context.Background()
			sc := store.Scope{OrgID: "org_test", Livemode: true}
			st := storetest.OpenConfig(t, cfg)
			m, err := session.NewManager(session.Config{PublicURL: "http://127.0.0.1:8080", SIPHost: "127.0.0.1"}, st, nil)
			if err != nil {
				t.Fatal(err)
			}
			s, err := m.Create(ctx, sc, session.CreateParams{Mode: string(session.ModeTranscription)})
			if err != nil {
				t.Fatal(err)
			}
			svc := analysis.New(st, m, nil)
			if _, err := svc.Create(ctx, sc, s.ID, analysis.Params{}); !errors.Is(err, analysis.ErrSessionNotEnded) {
				t.Fatalf("created session: %v", err)
			}
			if _, err := svc.Create(ctx, sc, "sess_nope", analysis.Params{}); !errors.Is(err, session.ErrNotFound) {
				t.Fatalf("unknown session: %v", err)
			}
			if _, err := m.AddTurn(ctx, s.ID, session.Turn{Speaker: session.SpeakerCustomer, Text: "Hello, my order is late.", StartMS: 0, EndMS: 2000}); err != nil {
				t.Fatal(err)
			}
			if _, err := m.End(ctx, sc, s.ID, session.EndExplicit); err != nil {
				t.Fatal(err)
			}
			good, err := svc.Create(ctx, sc, s.ID, analysis.Params{Include: []string{analysis.PartKeywords}})
			if err != nil {
				t.Fatal(err)
			}
			bad, err := svc.Create(ctx, sc, s.ID, analysis.Params{})
			if err != nil {
				t.Fatal(err)
			}
			err = st.Update(ctx, func(tx *store.Tx) error {
				return tx.Put(store.Analyses, store.Record{ID: bad.ID, Scope: sc, Status: analysis.StatusProcessing, Data: []byte("{broken"), Updated: tx.Now()})
			})
			if err != nil {
				t.Fatal(err)
			}
			st.Close()

			st = storetest.OpenConfig(t, cfg)
			m, err = session.NewManager(session.Config{PublicURL: "http://127.0.0.1:8080", SIPHost: "127.0.0.1"}, st, nil)
			if err != nil {
				t.Fatal(err)
			}
			svc = analysis.New(st, m, nil)
			runCtx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { svc.Run(runCtx); close(done) }()
			defer func() { cancel(); <-done }()
			var got analysis.Analysis
			for range 500 {
				if got, err = svc.Get(ctx, sc, good.ID); err != nil || got.Status != analysis.StatusProcessing {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if err != nil || got.Status != analysis.StatusCompleted || got.Results.Keywords == nil || (*got.Results.Keywords)[0].Text != "order" {
				t.Fatalf("after the restart: %+v, %v", got, err)
			}
			for range 500 {
				if evs, _ := st.SessionEvents(ctx, s.ID); countType(evs, analysis.EventFailed) == 1 && countType(evs, analysis.EventComplete) == 1 {
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
			t.Fatal("no analysis.failed for the unreadable analysis")
		})
	}
}

func countType(evs []store.Event, typ string) int {
	n := 0
	for _, e := range evs {
		if e.Type == typ {
			n++
		}
	}
	return n
}
