package store

import (
	"context"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/lifecycle"
)

func triggerRun(key, heads string) Run {
	return Run{Key: key, Heads: heads, Reason: "test", Changeset: &changeset.Changeset{Key: key, RunID: heads}}
}

func TestTriggerQueuesHeldAndSupersedesOtherHeads(t *testing.T) {
	s, _ := openTest(t)
	clk := withClock(s)
	ctx := context.Background()
	const window = time.Second

	first, err := s.Trigger(ctx, triggerRun("K", "h1"), false, window)
	if err != nil || first.Tested != nil || first.ID == 0 || first.Coalesced || !first.Due.Equal(clk.now().Add(window)) {
		t.Fatalf("first trigger %+v %v", first, err)
	}
	// Held: not claimable, however late, until its reports are out.
	if r, _ := s.ClaimRun(ctx, clk.now().Add(time.Hour)); r != nil {
		t.Fatal("a held run was claimed")
	}
	// A second event before the run starts coalesces, and says what the
	// queued run was testing before.
	again, err := s.Trigger(ctx, triggerRun("K", "h2"), false, window)
	if err != nil || !again.Coalesced || again.ID != first.ID || len(again.Retired) != 1 || again.Retired[0].Heads != "h1" || again.Retired[0].Changeset.RunID != "h1" {
		t.Fatalf("coalescing trigger %+v %v", again, err)
	}
	if err := s.Release(ctx, again.ID, again.Due); err != nil {
		t.Fatal(err)
	}
	r, err := s.ClaimRun(ctx, again.Due)
	if err != nil || r == nil || r.ID != first.ID || r.Changeset.RunID != "h2" {
		t.Fatalf("claim after release %+v %v", r, err)
	}
	// A push while it runs: a new held run, and the running one, which
	// builds other heads, is cancelled in the same transaction.
	push, err := s.Trigger(ctx, triggerRun("K", "h3"), false, window)
	if err != nil || push.Tested != nil || push.ID == first.ID || len(push.Superseded) != 1 || push.Superseded[0].ID != first.ID {
		t.Fatalf("push trigger %+v %v", push, err)
	}
	if old, _ := s.GetRun(ctx, first.ID); old.Ended != lifecycle.Superseded || old.Superseded != push.ID {
		t.Fatalf("superseded run %+v", old)
	}
	// A crash before the release: the next start releases it (on
	// PostgreSQL, once the replica that held it would have released it).
	clk.advance(s.lease + time.Second)
	if _, err := s.RequeueInterrupted(ctx); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.ClaimRun(ctx, clk.now()); r == nil || r.ID != push.ID {
		t.Fatalf("held run after a restart: %+v", r)
	}
}

func TestTriggerNeverCancelsTheHeadsItWouldBuild(t *testing.T) {
	s, _ := openTest(t)
	clk := withClock(s)
	ctx := context.Background()
	q, _ := s.Trigger(ctx, triggerRun("K", "h1"), false, 0)
	s.Release(ctx, q.ID, q.Due)
	running, _ := s.ClaimRun(ctx, clk.now())
	// The same heads again while they build, even forced: nothing is
	// queued and nothing cancelled.
	for _, force := range []bool{false, true} {
		got, err := s.Trigger(ctx, triggerRun("K", "h1"), force, 0)
		if err != nil || got.Tested == nil || got.Tested.ID != running.ID || got.ID != 0 || len(got.Superseded) != 0 {
			t.Fatalf("force=%v: %+v %v", force, got, err)
		}
	}
	if r, _ := s.GetRun(ctx, running.ID); r.State != lifecycle.Building {
		t.Fatalf("the run building these heads is %s", r.State)
	}
	// Finished: the same heads are tested already, unless forced.
	if err := s.FinishRun(ctx, running.ID, lifecycle.Success, &ci.Result{Result: ci.Success}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Trigger(ctx, triggerRun("K", "h1"), false, 0); got.Tested == nil || got.Tested.ID != running.ID {
		t.Fatalf("tested heads queued again: %+v", got)
	}
	if got, _ := s.Trigger(ctx, triggerRun("K", "h1"), true, 0); got.Tested != nil || got.ID == 0 {
		t.Fatalf("a forced run of tested heads was not queued: %+v", got)
	}
}

// A cancel stops, in one transaction, the live runs lifecycle.DecideCancel
// picks, and leaves the rest.
func TestCancelStopsTheRunsDecided(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	withMember := func(key, heads, repo string, n int) Run {
		r := triggerRun(key, heads)
		r.Changeset.Members = []changeset.Member{{PR: &changeset.PR{Repo: repo, Number: n}}}
		return r
	}
	a, err := s.Trigger(ctx, withMember("A", "h1", "o/a", 1), false, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Trigger(ctx, withMember("B", "h2", "o/b", 2), false, 0)
	if err != nil {
		t.Fatal(err)
	}
	stopped, err := s.Cancel(ctx, "", lifecycle.Cancel{Member: "o/b#2"})
	if err != nil || len(stopped) != 1 || stopped[0].ID != b.ID || stopped[0].State != lifecycle.Queued {
		t.Fatalf("closing o/b#2 stopped %+v, %v", stopped, err)
	}
	if r, _ := s.GetRun(ctx, b.ID); r.Ended != lifecycle.Cancelled {
		t.Errorf("run of the closed member: %+v", r)
	}
	if r, _ := s.GetRun(ctx, a.ID); r.State != lifecycle.Queued {
		t.Errorf("another changeset's run was touched: %+v", r)
	}
	if again, err := s.Cancel(ctx, "B", lifecycle.Cancel{}); err != nil || len(again) != 0 {
		t.Errorf("cancelling a cancelled run again: %+v, %v", again, err)
	}
	if stopped, err := s.Cancel(ctx, "A", lifecycle.Cancel{}); err != nil || len(stopped) != 1 || stopped[0].ID != a.ID {
		t.Errorf("a cancel command on A: %+v, %v", stopped, err)
	}
}
