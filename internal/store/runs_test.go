package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/lifecycle"
)

func TestEnqueueRunCoalescesWithinWindow(t *testing.T) {
	s, _ := openTest(t)
	clk := withClock(s)
	ctx := context.Background()
	const window = 5 * time.Second

	id1, co, err := s.EnqueueRun(ctx, Run{Key: "o/a#1,o/b#2", Heads: "r1", Reason: "opened", Changeset: &changeset.Changeset{Key: "v1"}}, window)
	if err != nil || co {
		t.Fatalf("first EnqueueRun: coalesced=%v err=%v", co, err)
	}
	// Not due yet: the window lets the rest of the burst join.
	if r, _ := s.ClaimRun(ctx, clk.now()); r != nil {
		t.Fatal("run claimed before its window closed")
	}
	clk.advance(3 * time.Second)
	id2, co, err := s.EnqueueRun(ctx, Run{Key: "o/a#1,o/b#2", Heads: "r2", Reason: "synchronize", Changeset: &changeset.Changeset{Key: "v2"}}, window)
	if err != nil || !co || id2 != id1 {
		t.Fatalf("second EnqueueRun = %d coalesced=%v err=%v, want %d coalesced", id2, co, err, id1)
	}
	other, co, err := s.EnqueueRun(ctx, Run{Key: "o/c#3", Heads: "r3"}, window)
	if err != nil || co || other == id1 {
		t.Fatalf("other key EnqueueRun = %d coalesced=%v err=%v", other, co, err)
	}
	r, err := s.GetRun(ctx, id1)
	if err != nil {
		t.Fatal(err)
	}
	if r.Heads != "r2" || r.Reason != "synchronize" || r.Changeset == nil || r.Changeset.Key != "v2" || r.State != lifecycle.Queued {
		t.Fatalf("coalesced run = %+v, want the newest changeset", r)
	}
	if want := clk.now().Add(window); !r.NotBefore.Equal(want) {
		t.Fatalf("NotBefore = %v, want %v (pushed by the newer event)", r.NotBefore, want)
	}
	if n, _ := s.CountRuns(ctx, lifecycle.Queued, ""); n != 2 {
		t.Fatalf("%d queued runs, want 2", n)
	}
	if due, ok, err := s.NextRunDue(ctx); err != nil || !ok || !due.Equal(clk.now().Add(window)) {
		t.Fatalf("NextRunDue = %v %v %v", due, ok, err)
	}
	if r, _ := s.ClaimRun(ctx, clk.now().Add(window-time.Millisecond)); r != nil {
		t.Fatal("run claimed before its pushed window closed")
	}
	r, err = s.ClaimRun(ctx, clk.now().Add(window))
	if err != nil || r == nil || r.ID != id1 || r.State != lifecycle.Building || r.StartedAt.IsZero() {
		t.Fatalf("ClaimRun = %+v %v, want run %d running", r, err, id1)
	}
	// Once running, a new event makes a new queued run rather than
	// changing the one being built.
	id3, co, err := s.EnqueueRun(ctx, Run{Key: "o/a#1,o/b#2", Heads: "r4"}, window)
	if err != nil || co || id3 == id1 {
		t.Fatalf("EnqueueRun while running = %d coalesced=%v err=%v", id3, co, err)
	}
	if _, _, err := s.EnqueueRun(ctx, Run{}, window); err == nil {
		t.Fatal("EnqueueRun without a key succeeded")
	}
}

func TestClaimRunOrderAndSameKeyExclusion(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	now := time.Now()
	a1, _, _ := s.EnqueueRun(ctx, Run{Key: "A"}, 0)
	b1, _, _ := s.EnqueueRun(ctx, Run{Key: "B"}, 0)
	later := now.Add(time.Hour)

	r, _ := s.ClaimRun(ctx, later)
	if r == nil || r.ID != a1 {
		t.Fatalf("first claim %v, want A's run %d", r, a1)
	}
	a2, co, _ := s.EnqueueRun(ctx, Run{Key: "A"}, 0)
	if co {
		t.Fatal("coalesced into a running run")
	}
	c1, _, _ := s.EnqueueRun(ctx, Run{Key: "C"}, 0)

	// A's second run waits while A's first runs; B and C, older first, go.
	for _, want := range []int64{b1, c1} {
		r, err := s.ClaimRun(ctx, later)
		if err != nil || r == nil || r.ID != want {
			t.Fatalf("claimed %v %v, want run %d", r, err, want)
		}
	}
	if r, _ := s.ClaimRun(ctx, later); r != nil {
		t.Fatalf("claimed run %d of key %s while its key was running", r.ID, r.Key)
	}
	running, err := s.RunningRuns(ctx, "A")
	if err != nil || len(running) != 1 || running[0].ID != a1 {
		t.Fatalf("RunningRuns(A) = %v %v", running, err)
	}
	if err := s.FinishRun(ctx, a1, lifecycle.Success, &ci.Result{Result: "success"}); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.ClaimRun(ctx, later); r == nil || r.ID != a2 {
		t.Fatalf("after A finished claimed %v, want %d", r, a2)
	}
}

func TestFinishAndCancelRun(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	later := time.Now().Add(time.Hour)
	id, _, _ := s.EnqueueRun(ctx, Run{Key: "K"}, 0)
	if _, err := s.ClaimRun(ctx, later); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishRun(ctx, id, lifecycle.Skipped, nil); err == nil {
		t.Fatal("FinishRun with a step's result succeeded")
	}
	if err := s.FinishRun(ctx, id, lifecycle.Failure, &ci.Result{Result: "failure"}); err != nil {
		t.Fatal(err)
	}
	r, _ := s.GetRun(ctx, id)
	if r.Ended != lifecycle.Failure || r.Result == nil || r.Result.Result != "failure" || r.FinishedAt.IsZero() || !r.Final() {
		t.Fatalf("finished run = %+v", r)
	}
	if err := s.FinishRun(ctx, id, lifecycle.Success, nil); err == nil {
		t.Fatal("finishing a run twice succeeded")
	}
	if ok, err := s.CancelRun(ctx, id, 0); err != nil || ok {
		t.Fatalf("CancelRun of a finished run = %v %v, want false", ok, err)
	}

	// Superseded while running: the worker's later FinishRun keeps it
	// cancelled but stores its result.
	old, _, _ := s.EnqueueRun(ctx, Run{Key: "K"}, 0)
	if _, err := s.ClaimRun(ctx, later); err != nil {
		t.Fatal(err)
	}
	newer, _, _ := s.EnqueueRun(ctx, Run{Key: "K"}, 0)
	if ok, err := s.CancelRun(ctx, old, newer); err != nil || !ok {
		t.Fatalf("CancelRun = %v %v", ok, err)
	}
	if err := s.FinishRun(ctx, old, lifecycle.Success, &ci.Result{Result: "success"}); err != nil {
		t.Fatal(err)
	}
	r, _ = s.GetRun(ctx, old)
	if r.Ended != lifecycle.Superseded || r.Superseded != newer || r.Result == nil || r.Result.Result != "success" {
		t.Fatalf("superseded run = %+v", r)
	}
	// The newer run may start now that the old one is no longer running.
	if r, _ := s.ClaimRun(ctx, later); r == nil || r.ID != newer {
		t.Fatalf("claimed %v, want %d", r, newer)
	}

	if _, err := s.CancelRun(ctx, 999, 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("CancelRun(999): %v, want ErrNotFound", err)
	}
	if err := s.FinishRun(ctx, 999, lifecycle.Success, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("FinishRun(999): %v, want ErrNotFound", err)
	}
	if err := s.Requeue(ctx, newer); err != nil {
		t.Fatal(err)
	}
	if err := s.Requeue(ctx, newer); err == nil || !strings.Contains(err.Error(), "already queued") {
		t.Fatalf("Requeue of a queued run: %v", err)
	}
	if err := s.Requeue(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Requeue(999): %v", err)
	}
	if err := s.SetRunChangeset(ctx, newer, "rid", &changeset.Changeset{Key: "members"}); err != nil {
		t.Fatal(err)
	}
	r, _ = s.GetRun(ctx, newer)
	if r.State != lifecycle.Queued || r.Heads != "rid" || r.Changeset == nil || r.Changeset.Key != "members" {
		t.Fatalf("after Requeue/SetRunChangeset: %+v", r)
	}
}

func TestRunQueries(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	if _, err := s.LatestRun(ctx, "K"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("LatestRun with no runs: %v", err)
	}
	if _, err := s.GetRun(ctx, 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetRun with no runs: %v", err)
	}
	var ids []int64
	for _, k := range []string{"K", "L", "K"} {
		id, _, err := s.EnqueueRun(ctx, Run{Key: k}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ClaimRun(ctx, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishRun(ctx, id, lifecycle.Success, nil); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if r, err := s.LatestRun(ctx, "K"); err != nil || r.ID != ids[2] {
		t.Fatalf("LatestRun(K) = %v %v, want %d", r, err, ids[2])
	}
	recent, err := s.RecentRuns(ctx, 2)
	if err != nil || len(recent) != 2 || recent[0].ID != ids[2] || recent[1].ID != ids[1] {
		t.Fatalf("RecentRuns(2) = %v %v", recent, err)
	}
	if _, err := s.AddDelivery(ctx, Delivery{ID: "p", Event: "pull_request", Payload: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.EnqueueRun(ctx, Run{Key: "M"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if n, err := s.QueueDepth(ctx); err != nil || n != 2 {
		t.Fatalf("QueueDepth = %d %v, want 2", n, err)
	}
	if n, err := s.CountRuns(ctx, "", ""); err != nil || n != 4 {
		t.Fatalf("CountRuns = %d %v, want 4", n, err)
	}
}

func TestRunLogs(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	id, _, _ := s.EnqueueRun(ctx, Run{Key: "K"}, 0)
	other, _, _ := s.EnqueueRun(ctx, Run{Key: "L"}, 0)
	if got, err := s.Log(ctx, id); err != nil || len(got) != 0 {
		t.Fatalf("empty Log = %q %v", got, err)
	}
	for _, c := range []string{"setup\n", "", "test failed\n"} {
		if err := s.AppendLog(ctx, id, []byte(c)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AppendLog(ctx, other, []byte("other\n")); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Log(ctx, id); err != nil || string(got) != "setup\ntest failed\n" {
		t.Fatalf("Log = %q %v", got, err)
	}
	if err := s.AppendLog(ctx, 999, []byte("x")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("AppendLog to a missing run: %v, want ErrNotFound", err)
	}
}

func TestEnqueueRunCoalescingIsBounded(t *testing.T) {
	s, _ := openTest(t)
	clk := withClock(s)
	ctx := context.Background()
	const window = time.Second
	start := clk.now()
	id, _, err := s.EnqueueRun(ctx, Run{Key: "o/a#1", Heads: "r0"}, window)
	if err != nil {
		t.Fatal(err)
	}
	// An event every half window would postpone the run forever without a bound.
	for i := 1; i <= 20; i++ {
		clk.advance(window / 2)
		if _, _, err := s.EnqueueRun(ctx, Run{Key: "o/a#1", Heads: "r"}, window); err != nil {
			t.Fatal(err)
		}
	}
	r, err := s.GetRun(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if limit := start.Add(MaxCoalesce * window); !r.NotBefore.Equal(limit) {
		t.Fatalf("NotBefore = %v, want the bound %v", r.NotBefore, limit)
	}
}

func TestPruneRunsKeepsTheNewestOfEachChangeset(t *testing.T) {
	s, _ := openTest(t)
	clk := withClock(s)
	ctx := context.Background()
	finish := func(key string) int64 {
		t.Helper()
		id, _, err := s.EnqueueRun(ctx, Run{Key: key, Heads: key}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if r, err := s.ClaimRun(ctx, clk.now()); err != nil || r == nil || r.ID != id {
			t.Fatalf("claim %s: %v %v", key, r, err)
		}
		if err := s.AppendLog(ctx, id, []byte("log of "+key)); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishRun(ctx, id, lifecycle.Success, nil); err != nil {
			t.Fatal(err)
		}
		return id
	}
	oldA := finish("o/a#1")
	newA := finish("o/a#1")
	onlyB := finish("o/b#2")
	clk.advance(48 * time.Hour)
	recentA := finish("o/a#1")
	queued, _, err := s.EnqueueRun(ctx, Run{Key: "o/c#3", Heads: "c"}, 0)
	if err != nil {
		t.Fatal(err)
	}

	n, err := s.PruneRuns(ctx, clk.now().Add(-24*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("PruneRuns = %d, %v; want the two older runs of o/a#1", n, err)
	}
	for _, id := range []int64{oldA, newA} {
		if _, err := s.GetRun(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("run %d should be gone: %v", id, err)
		}
		if log, _ := s.Log(ctx, id); len(log) != 0 {
			t.Errorf("run %d's log outlived it: %q", id, log)
		}
	}
	for _, id := range []int64{onlyB, recentA, queued} {
		if _, err := s.GetRun(ctx, id); err != nil {
			t.Errorf("run %d should stay: %v", id, err)
		}
	}
}

// TestAllTestsSticksToACoalescedRun: a test --all that a push coalesces
// into still runs every test, and the claimed run says so.
func TestAllTestsSticksToACoalescedRun(t *testing.T) {
	s, _ := openTest(t)
	clk := withClock(s)
	ctx := context.Background()
	id, _, err := s.EnqueueRun(ctx, Run{Key: "o/a#1", Heads: "r1", AllTests: true}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if again, co, err := s.EnqueueRun(ctx, Run{Key: "o/a#1", Heads: "r2"}, time.Second); err != nil || !co || again != id {
		t.Fatalf("the push did not coalesce: %d %v %v", again, co, err)
	}
	r, err := s.ClaimRun(ctx, clk.now().Add(time.Second))
	if err != nil || r == nil || r.ID != id || !r.AllTests || r.Heads != "r2" {
		t.Fatalf("claimed %+v %v, want run %d at r2 with every test", r, err, id)
	}
	plain, _, err := s.EnqueueRun(ctx, Run{Key: "o/b#2", Heads: "r3"}, 0)
	if r, err := s.GetRun(ctx, plain); err != nil || r.AllTests {
		t.Fatalf("a plain run reads as test --all: %+v %v", r, err)
	}
}
