package sessionrun_test

import (
	"context"
	"testing"
	"time"

	"github.com/voxgate/voxgate/sessionrun"
)

// TestGroup: one function per session at a time, its published value found
// while it runs, and Close stops them all and starts no more.
func TestGroup(t *testing.T) {
	g := sessionrun.NewGroup[string]()
	started, release := make(chan struct{}), make(chan struct{})
	if !g.Go("ses_a", func(ctx context.Context) {
		g.Publish("ses_a", "brain a")
		close(started)
		select {
		case <-release:
		case <-ctx.Done():
		}
	}) {
		t.Fatal("the first function did not start")
	}
	<-started
	if g.Go("ses_a", func(context.Context) { t.Error("a second function ran for ses_a") }) {
		t.Fatal("a second function started for a session")
	}
	if got := g.Get("ses_a"); got != "brain a" {
		t.Fatalf("Get = %q", got)
	}
	if g.Get("ses_b") != "" || g.Len() != 1 {
		t.Fatalf("Get(ses_b) = %q, Len = %d", g.Get("ses_b"), g.Len())
	}
	done := make(chan struct{})
	g.Go("ses_b", func(ctx context.Context) {
		<-ctx.Done()
		close(done)
	})
	close(release)
	for g.Len() != 1 { // ses_a's function returns and is forgotten
		time.Sleep(time.Millisecond)
	}
	g.Publish("ses_a", "late") // after its function: nothing
	if g.Get("ses_a") != "" {
		t.Fatal("a value published after the function returned")
	}
	g.Close()
	<-done
	if g.Len() != 0 {
		t.Fatalf("Len after Close = %d", g.Len())
	}
	if g.Go("ses_c", func(context.Context) { t.Error("ran after Close") }) {
		t.Fatal("a function started after Close")
	}
}
