package store

import (
	"context"
	"errors"
	"testing"

	"github.com/provide-io/workspace-bot/lifecycle"
)

// dispatched is a claimed run handed off with token hash h.
func dispatched(t *testing.T, s *Store, key, h string) int64 {
	t.Helper()
	ctx := context.Background()
	id, _, err := s.EnqueueRun(ctx, Run{Key: key, Heads: "h-" + key}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := s.ClaimRun(ctx, s.now()); err != nil || r == nil || r.ID != id {
		t.Fatalf("claim = %+v, %v", r, err)
	}
	if n, err := s.Dispatch(ctx, id, h, []byte(`{}`)); err != nil || n != 1 {
		t.Fatalf("Dispatch = %d, %v; want attempt 1", n, err)
	}
	return id
}

// A dispatched run's job goes on while the service restarts: the restart
// must not queue it again (it would be built twice), while a run that
// was building here is.
func TestRequeueInterruptedLeavesDispatchedRuns(t *testing.T) {
	s, _ := openTest(t)
	withClock(s)
	ctx := context.Background()
	remote := dispatched(t, s, "o/a#1", "h1")
	local, _, _ := s.EnqueueRun(ctx, Run{Key: "o/b#2"}, 0)
	if r, _ := s.ClaimRun(ctx, s.now()); r == nil || r.ID != local {
		t.Fatal("the local run was not claimed")
	}
	if _, err := s.RequeueInterrupted(ctx); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.GetRun(ctx, remote); r.State != lifecycle.Building {
		t.Errorf("dispatched run is %s after a restart, want still running", r.Label())
	}
	if r, _ := s.GetRun(ctx, local); r.State != lifecycle.Queued {
		t.Errorf("local run is %s after a restart, want queued", r.Label())
	}
	// Once its dispatch ended (lost, no result), a restart requeues it.
	if ok, err := s.EndDispatch(ctx, remote, "h1", "lost"); !ok || err != nil {
		t.Fatalf("EndDispatch = %v %v", ok, err)
	}
	if _, err := s.RequeueInterrupted(ctx); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.GetRun(ctx, remote); r.State != lifecycle.Queued {
		t.Errorf("run whose dispatch ended is %s after a restart, want queued", r.Label())
	}
}

func TestDispatchResultOnce(t *testing.T) {
	s, _ := openTest(t)
	withClock(s)
	ctx := context.Background()
	id := dispatched(t, s, "o/a#1", "h1")
	if ok, err := s.SetWorkflowRun(ctx, id, "h1", 77, "https://gh/runs/77"); !ok || err != nil {
		t.Fatalf("SetWorkflowRun = %v %v", ok, err)
	}
	if ok, _ := s.SetWorkflowRun(ctx, id, "other", 78, ""); ok {
		t.Error("another token's attempt set the workflow run")
	}
	if d, err := s.DispatchOfWorkflowRun(ctx, 77); err != nil || d.Run != id || d.WorkflowURL != "https://gh/runs/77" {
		t.Fatalf("DispatchOfWorkflowRun = %+v %v", d, err)
	}
	if ok, err := s.StartDispatch(ctx, id, "h1"); !ok || err != nil {
		t.Fatalf("StartDispatch = %v %v", ok, err)
	}
	if live, _ := s.LiveDispatches(ctx); len(live) != 1 || live[0].StartedAt.IsZero() {
		t.Fatalf("live dispatches = %+v", live)
	}
	if first, err := s.RecordDispatchResult(ctx, id, "h1", "d1"); !first || err != nil {
		t.Fatalf("first result = %v %v", first, err)
	}
	if first, err := s.RecordDispatchResult(ctx, id, "h1", "d1"); first || err != nil {
		t.Fatalf("the same result again = %v %v, want not first, no error", first, err)
	}
	if _, err := s.RecordDispatchResult(ctx, id, "h1", "d2"); !errors.Is(err, ErrResultRecorded) {
		t.Fatalf("a different result = %v, want ErrResultRecorded", err)
	}
	if _, err := s.RecordDispatchResult(ctx, id, "h2", "d1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another attempt's result = %v, want ErrNotFound", err)
	}
	if live, _ := s.LiveDispatches(ctx); len(live) != 0 {
		t.Fatalf("live dispatches after the result = %+v", live)
	}
}

// A lost job is retried once: the run is queued again in the same
// transaction that ends the attempt, and only one replica may do it.
func TestRetryDispatch(t *testing.T) {
	s, _ := openTest(t)
	withClock(s)
	ctx := context.Background()
	id := dispatched(t, s, "o/a#1", "h1")
	if ok, _ := s.RetryDispatch(ctx, id, "h1", RetryFlaky); ok {
		t.Error("an attempt with no result was retried as flaky")
	}
	if ok, err := s.RetryDispatch(ctx, id, "h1", RetryLost); !ok || err != nil {
		t.Fatalf("RetryDispatch = %v %v", ok, err)
	}
	if ok, _ := s.RetryDispatch(ctx, id, "h1", RetryLost); ok {
		t.Error("the same attempt was retried twice")
	}
	if _, err := s.RecordDispatchResult(ctx, id, "h1", "d1"); !errors.Is(err, ErrDispatchEnded) {
		t.Errorf("the lost attempt's result: %v, want ErrDispatchEnded", err)
	}
	r, err := s.ClaimRun(ctx, s.now())
	if err != nil || r == nil || r.ID != id {
		t.Fatalf("claim after retry = %+v %v", r, err)
	}
	if n, err := s.Dispatch(ctx, id, "h2", nil); err != nil || n != 2 {
		t.Fatalf("second Dispatch = %d %v, want attempt 2", n, err)
	}
	d, _ := s.GetDispatch(ctx, id)
	if !d.Live() || d.WorkflowRun != 0 || d.TokenHash != "h2" {
		t.Fatalf("second attempt = %+v", d)
	}
	// A result in, the run is built again for flaky tests: only once the
	// result is recorded, and not as lost.
	if _, err := s.RecordDispatchResult(ctx, id, "h2", "d2"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.RetryDispatch(ctx, id, "h2", RetryLost); ok {
		t.Error("an attempt that posted its result was retried as lost")
	}
	if ok, err := s.RetryDispatch(ctx, id, "h2", RetryFlaky); !ok || err != nil {
		t.Fatalf("RetryDispatch flaky = %v %v", ok, err)
	}
	if d, _ := s.GetDispatch(ctx, id); d.Ended != RetryFlaky {
		t.Errorf("the flaky attempt ended %q", d.Ended)
	}
	if r, err := s.ClaimRun(ctx, s.now()); err != nil || r == nil || r.ID != id {
		t.Fatalf("claim after the flaky retry = %+v %v", r, err)
	}
}
