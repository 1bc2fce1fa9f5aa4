package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/land"
	"github.com/provide-io/workspace-bot/lifecycle"
)

// A landing survives a reopen, counts as unfinished work, and is gone
// once ended.
func TestLandingsAreDurableUntilEnded(t *testing.T) {
	s, path := openTest(t)
	ctx := context.Background()
	asked := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cs := &changeset.Changeset{Key: "o/a#1,o/b#2", RunID: "h1", Members: []changeset.Member{{PR: &changeset.PR{Repo: "o/a", Number: 1, HeadSHA: "abc"}}}}
	l := Landing{Key: cs.Key, State: lifecycle.Gating, Changeset: cs, Repo: "o/a", Number: 1, User: "alice", AskedAt: asked}
	if err := s.SetLanding(ctx, l); err != nil {
		t.Fatal(err)
	}
	l.State = lifecycle.Merging
	if err := s.SetLanding(ctx, l); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Landings(ctx)
	if err != nil || len(got) != 1 || got[0].State != lifecycle.Merging || got[0].User != "alice" || !got[0].AskedAt.Equal(asked) || got[0].Number != 1 ||
		got[0].Changeset == nil || !got[0].Changeset.Has("o/a", 1) || got[0].Changeset.Members[0].PR.HeadSHA != "abc" {
		t.Fatalf("landings after reopen: %+v %v", got, err)
	}
	if n, err := s.Busy(ctx); err != nil || n != 1 {
		t.Errorf("busy with a landing: %d %v", n, err)
	}
	// A halted landing keeps what merged, and is no unfinished work.
	l.State, l.Merged = lifecycle.Halted, []land.Merged{{Member: land.Member{Repo: "o/a", Number: 1}, Before: "b0", After: "m1"}}
	if err := s.SetLanding(ctx, l); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetLanding(ctx, l.Key); err != nil || len(got.Merged) != 1 || got.Merged[0].After != "m1" || got.Merged[0].Member.Repo != "o/a" {
		t.Errorf("halted landing: %+v %v", got, err)
	}
	if n, _ := s.Busy(ctx); n != 0 {
		t.Errorf("a halted landing counts as work: busy %d", n)
	}
	if err := s.EndLanding(ctx, l.Key); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetLanding(ctx, l.Key); !errors.Is(err, ErrNotFound) {
		t.Errorf("ended landing: %v", err)
	}
	if n, _ := s.Busy(ctx); n != 0 {
		t.Errorf("busy after the landing ended: %d", n)
	}
}
