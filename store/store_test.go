package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voxgate/voxgate/id"
	"github.com/voxgate/voxgate/store"
	"github.com/voxgate/voxgate/store/storetest"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func forEachEngine(t *testing.T, fn func(t *testing.T, e storetest.Engine)) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) { t.Parallel(); fn(t, e) })
	}
}

func TestRecordsCRUDAndScopes(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e storetest.Engine) {
		s := storetest.Open(t, e)
		live := store.Scope{OrgID: "org_a", Livemode: true}
		test := store.Scope{OrgID: "org_a", Livemode: false}
		now := s.Now()
		rec := store.Record{ID: id.New(id.Agent), Scope: live, Status: "active", Data: []byte(`{"name":"x"}`), Created: now, Updated: now}
		if err := s.Update(ctx(t), func(tx *store.Tx) error { return tx.Insert(store.Agents, rec) }); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx(t), store.Agents, live, rec.ID)
		if err != nil || string(got.Data) != `{"name":"x"}` || !got.Created.Equal(now) {
			t.Fatalf("get = %+v, %v", got, err)
		}
		if _, err := s.Get(ctx(t), store.Agents, test, rec.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("test scope sees live record: %v", err)
		}
		if err := s.Update(ctx(t), func(tx *store.Tx) error { return tx.Insert(store.Agents, rec) }); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate insert: %v", err)
		}
		rec.Status, rec.Data = "inactive", []byte(`{"name":"y"}`)
		if err := s.Update(ctx(t), func(tx *store.Tx) error { return tx.Put(store.Agents, rec) }); err != nil {
			t.Fatal(err)
		}
		got, _ = s.Get(ctx(t), store.Agents, live, rec.ID)
		if got.Status != "inactive" || string(got.Data) != `{"name":"y"}` {
			t.Fatalf("after put: %+v", got)
		}
		if err := s.Update(ctx(t), func(tx *store.Tx) error { return tx.Delete(store.Agents, live, rec.ID) }); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx(t), store.Agents, live, rec.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("after delete: %v", err)
		}
	})
}

func TestListPagination(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e storetest.Engine) {
		s := storetest.Open(t, e)
		sc := store.Scope{OrgID: "org_p", Livemode: true}
		var ids []string
		err := s.Update(ctx(t), func(tx *store.Tx) error {
			for i := range 7 {
				status := "active"
				if i%2 == 1 {
					status = "inactive"
				}
				r := store.Record{ID: id.New(id.Agent), Scope: sc, Status: status, Data: []byte(`{}`), Created: s.Now(), Updated: s.Now()}
				ids = append(ids, r.ID)
				if err := tx.Insert(store.Agents, r); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		page, more, err := s.List(ctx(t), store.Agents, sc, store.ListQuery{Limit: 3})
		if err != nil || !more || len(page) != 3 || page[0].ID != ids[6] || page[2].ID != ids[4] {
			t.Fatalf("first page: %v %v %v", page, more, err)
		}
		page, more, _ = s.List(ctx(t), store.Agents, sc, store.ListQuery{Limit: 3, StartingAfter: ids[4]})
		if !more || page[0].ID != ids[3] || page[2].ID != ids[1] {
			t.Fatalf("second page wrong: more=%v", more)
		}
		page, more, _ = s.List(ctx(t), store.Agents, sc, store.ListQuery{Limit: 3, StartingAfter: ids[1]})
		if more || len(page) != 1 || page[0].ID != ids[0] {
			t.Fatalf("last page wrong: %d more=%v", len(page), more)
		}
		page, more, _ = s.List(ctx(t), store.Agents, sc, store.ListQuery{Limit: 2, EndingBefore: ids[2]})
		if !more || len(page) != 2 || page[0].ID != ids[4] || page[1].ID != ids[3] {
			t.Fatalf("ending_before page wrong: %d more=%v", len(page), more)
		}
		page, _, _ = s.List(ctx(t), store.Agents, sc, store.ListQuery{Limit: 10, Status: "inactive"})
		if len(page) != 3 {
			t.Fatalf("status filter: %d records", len(page))
		}
	})
}

func TestEventsCommitWithTheChange(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e storetest.Engine) {
		s := storetest.Open(t, e)
		sc := store.Scope{OrgID: "org_e", Livemode: true}
		sess := store.Record{ID: id.New(id.Session), Scope: sc, Status: "created", Data: []byte(`{}`), Created: s.Now(), Updated: s.Now(), Activity: s.Now()}
		boom := errors.New("boom")
		err := s.Update(ctx(t), func(tx *store.Tx) error {
			if err := tx.Insert(store.Sessions, sess); err != nil {
				return err
			}
			if err := tx.AddEvent(store.Event{ID: id.New(id.Event), Scope: sc, Type: "session.created", SessionID: sess.ID, Data: []byte(`{}`), Created: s.Now()}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if evs, _ := s.SessionEvents(ctx(t), sess.ID); len(evs) != 0 {
			t.Fatalf("rolled back change left %d events", len(evs))
		}
		if _, err := s.Get(ctx(t), store.Sessions, sc, sess.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatal("rolled back session exists")
		}
		err = s.Update(ctx(t), func(tx *store.Tx) error {
			if err := tx.Insert(store.Sessions, sess); err != nil {
				return err
			}
			return tx.AddEvent(store.Event{ID: id.New(id.Event), Scope: sc, Type: "session.created", SessionID: sess.ID, Data: []byte(`{"a":1}`), Created: s.Now()})
		})
		if err != nil {
			t.Fatal(err)
		}
		evs, err := s.SessionEvents(ctx(t), sess.ID)
		if err != nil || len(evs) != 1 || evs[0].Type != "session.created" || string(evs[0].Data) != `{"a":1}` {
			t.Fatalf("events = %+v, %v", evs, err)
		}
	})
}

func TestIdempotencyClaims(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e storetest.Engine) {
		s := storetest.Open(t, e)
		sc := store.Scope{OrgID: "org_i", Livemode: true}
		// Many concurrent claims of one key: exactly one wins.
		var wg sync.WaitGroup
		var mu sync.Mutex
		winners := 0
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ex, err := s.BeginIdempotent(context.Background(), sc, "k1", "h1", time.Hour, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if ex == nil {
					mu.Lock()
					winners++
					mu.Unlock()
				} else if ex.State != store.IdempotencyRunning {
					t.Errorf("state = %s", ex.State)
				}
			}()
		}
		wg.Wait()
		if winners != 1 {
			t.Fatalf("%d winners", winners)
		}
		if err := s.FinishIdempotent(ctx(t), sc, "k1", 201, "application/json", []byte(`{"id":1}`)); err != nil {
			t.Fatal(err)
		}
		ex, err := s.BeginIdempotent(ctx(t), sc, "k1", "h1", time.Hour, time.Minute)
		if err != nil || ex == nil || ex.State != store.IdempotencyDone || ex.StatusCode != 201 || string(ex.Body) != `{"id":1}` {
			t.Fatalf("replay = %+v, %v", ex, err)
		}
		// Expired records are replaced.
		later := time.Now().Add(2 * time.Hour)
		s.SetClock(func() time.Time { return later })
		ex, err = s.BeginIdempotent(ctx(t), sc, "k1", "h2", time.Hour, time.Minute)
		if err != nil || ex != nil {
			t.Fatalf("expired key not reclaimed: %+v, %v", ex, err)
		}
		// A stale running claim (crashed request) is replaced too.
		s.SetClock(func() time.Time { return later.Add(2 * time.Minute) })
		if ex, _ := s.BeginIdempotent(ctx(t), sc, "k1", "h3", time.Hour, time.Minute); ex != nil {
			t.Fatalf("stale claim kept: %+v", ex)
		}
	})
}

func TestKeysAndOrgs(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e storetest.Engine) {
		s := storetest.Open(t, e)
		o, err := s.EnsureOrg(ctx(t), id.New(id.Organization), "acme")
		if err != nil {
			t.Fatal(err)
		}
		again, _ := s.EnsureOrg(ctx(t), id.New(id.Organization), "acme")
		if again.ID != o.ID {
			t.Fatalf("EnsureOrg made a second org: %s vs %s", again.ID, o.ID)
		}
		for i := range 3 {
			k := store.APIKey{ID: id.New(id.APIKey), OrgID: o.ID, Name: fmt.Sprint("k", i), Livemode: true,
				Hash: fmt.Sprint("hash", i), Hint: "sk_live_…", Scopes: []string{"sessions:read", "admin"}, Created: s.Now()}
			if err := s.CreateAPIKey(ctx(t), k); err != nil {
				t.Fatal(err)
			}
		}
		k, err := s.APIKeyByHash(ctx(t), "hash1")
		if err != nil || k.Name != "k1" || len(k.Scopes) != 2 || k.Revoked != nil {
			t.Fatalf("by hash: %+v %v", k, err)
		}
		if _, err := s.RevokeAPIKey(ctx(t), o.ID, k.ID); err != nil {
			t.Fatal(err)
		}
		k, _ = s.APIKeyByHash(ctx(t), "hash1")
		if k.Revoked == nil {
			t.Fatal("revoked key not marked")
		}
		keys, more, err := s.ListAPIKeys(ctx(t), o.ID, store.ListQuery{Limit: 2})
		if err != nil || len(keys) != 2 || !more {
			t.Fatalf("list: %d %v %v", len(keys), more, err)
		}
		if n, _ := s.CountAPIKeys(ctx(t)); n != 3 {
			t.Fatalf("count = %d", n)
		}
	})
}

func TestDataSurvivesReopen(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e storetest.Engine) {
		cfg := e.Config(t)
		s1, err := store.Open(ctx(t), cfg)
		if err != nil {
			t.Fatal(err)
		}
		sc := store.Scope{OrgID: "org_r", Livemode: true}
		r := store.Record{ID: id.New(id.Session), Scope: sc, Status: "active", Data: []byte(`{"mode":"transcription"}`), Created: s1.Now(), Updated: s1.Now(), Activity: s1.Now()}
		if err := s1.Update(ctx(t), func(tx *store.Tx) error { return tx.Insert(store.Sessions, r) }); err != nil {
			t.Fatal(err)
		}
		s1.Close()
		s2 := storetest.OpenConfig(t, cfg) // migrations run again: must be a no-op
		got, err := s2.Get(ctx(t), store.Sessions, sc, r.ID)
		if err != nil || string(got.Data) != string(r.Data) {
			t.Fatalf("after reopen: %+v %v", got, err)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  store.Config
		want string
	}{
		{store.Config{}, "data_dir"},
		{store.Config{DatabaseURL: "mysql://x"}, "database_url"},
		{store.Config{DatabaseURL: "postgres://u:secret@h/db"}, ""},
	} {
		err := tc.cfg.Validate()
		if (err == nil) != (tc.want == "") || (err != nil && !contains(err.Error(), tc.want)) {
			t.Errorf("Validate(%+v) = %v, want mention of %q", tc.cfg, err, tc.want)
		}
	}
	if err := (store.Config{DatabaseURL: "mysql://u:secret@h/db"}).Validate(); err == nil || contains(err.Error(), "secret") {
		t.Errorf("error leaks the password: %v", err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
