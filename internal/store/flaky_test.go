package store

import (
	"context"
	"fmt"
	"testing"
)

// A test that fails and then passes at the same heads is flaky; its next
// failure is counted over the runs at those heads. A test that only ever
// fails, or that passes at other heads, is not.
func TestFlakyTests(t *testing.T) {
	t.Parallel()
	s, _ := openTest(t)
	ctx := context.Background()
	n := 0
	run := func() int64 {
		t.Helper()
		n++
		id, _, err := s.EnqueueRun(ctx, Run{Key: fmt.Sprintf("o/a#%d", n), Heads: fmt.Sprint(n)}, 0)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	suite := func(complete bool, failed ...string) []Suite {
		return []Suite{{Name: "test pyvider", Failed: failed, Complete: complete}}
	}
	record := func(id int64, heads string, su []Suite) map[string]FlakyMark {
		t.Helper()
		marks, err := s.RecordTests(ctx, id, heads, su)
		if err != nil {
			t.Fatal(err)
		}
		return marks
	}
	flaky := func() int {
		count, err := s.FlakyTests(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return count
	}
	r1 := run()
	if m := record(r1, "H1", suite(true, "t::racy", "t::broken")); len(m) != 0 {
		t.Fatalf("first failures marked flaky: %v", m)
	}
	// Recorded twice (a report rebuilt after a restart): nothing changes.
	record(r1, "H1", suite(true, "t::racy", "t::broken"))
	// Other heads: a pass there says nothing about H1.
	record(run(), "H2", suite(true))
	// Left out at a limit: its absence proves nothing either.
	record(run(), "H1", suite(false, "t::broken"))
	if n := flaky(); n != 0 {
		t.Fatalf("%d flaky tests before any retest passed", n)
	}
	// The retest at H1: racy passes, broken fails again.
	if m := record(run(), "H1", suite(true, "t::broken")); len(m) != 0 {
		t.Fatalf("marks %v: broken only ever failed", m)
	}
	if n := flaky(); n != 1 {
		t.Fatalf("%d flaky tests, want 1 (racy)", n)
	}
	// racy fails again at H1: known flaky, failed 2 of the 4 runs there.
	r5 := run()
	m := record(r5, "H1", suite(true, "t::racy", "t::broken"))
	if got := m[FlakyKey("test pyvider", "t::racy")]; len(m) != 1 || got != (FlakyMark{Failed: 2, Runs: 4}) {
		t.Fatalf("marks %v, want racy failed 2 of 4", m)
	}
	// The window is the last 10 runs at the heads.
	for range 12 {
		record(run(), "H1", suite(true, "t::broken"))
	}
	m = record(run(), "H1", suite(true, "t::racy", "t::broken"))
	if got := m[FlakyKey("test pyvider", "t::racy")]; got != (FlakyMark{Failed: 1, Runs: 10}) {
		t.Fatalf("mark %v, want failed 1 of the last 10", got)
	}
	if n := flaky(); n != 1 {
		t.Fatalf("%d flaky tests, want 1", n)
	}
}
