package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/lifecycle"
)

func csOf(key string, prs ...*changeset.PR) *changeset.Changeset {
	cs := &changeset.Changeset{Key: key}
	for _, pr := range prs {
		cs.Members = append(cs.Members, changeset.Member{PR: pr, Trusted: pr.Author != "mallory"})
	}
	return cs
}

func ids(runs []Run) []int64 {
	out := []int64{}
	for _, r := range runs {
		out = append(out, r.ID)
	}
	return out
}

func TestRunFiltersAndPages(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	core12 := &changeset.PR{Repo: "acme/core", Number: 12, Author: "Alice"}
	lib3 := &changeset.PR{Repo: "acme/lib", Number: 3, Author: "bob"}
	core13 := &changeset.PR{Repo: "acme/core", Number: 13, Author: "bob"}
	add := func(cs *changeset.Changeset, ended lifecycle.Result) int64 {
		t.Helper()
		id, _, err := s.EnqueueRun(ctx, Run{Key: cs.Key, Changeset: cs}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if ended != "" {
			if r, err := s.ClaimRun(ctx, time.Now().Add(time.Hour)); err != nil || r.ID != id {
				t.Fatalf("claim run %d: %v %v", id, r, err)
			}
			if err := s.FinishRun(ctx, id, ended, nil); err != nil {
				t.Fatal(err)
			}
		}
		return id
	}
	a := add(csOf("acme/core#12,acme/lib#3", core12, lib3), lifecycle.Success)
	b := add(csOf("acme/core#13", core13), lifecycle.Failure)
	c := add(csOf("acme/core#12,acme/lib#3", core12, lib3), lifecycle.Failure)
	d := add(csOf("acme/lib#3", lib3), "") // queued

	for _, tc := range []struct {
		f    RunFilter
		want []int64
	}{
		{RunFilter{}, []int64{c, b, a}},
		{RunFilter{Repo: "ACME/Core"}, []int64{c, b, a}},
		{RunFilter{Repo: "acme/core", PR: 13}, []int64{b}},
		{RunFilter{Author: "alice"}, []int64{c, a}},
		// One member matches every field: bob has no PR in acme/core's #12.
		{RunFilter{Repo: "acme/core", Author: "bob"}, []int64{b}},
		{RunFilter{Repo: "acme/core", PR: 12, Author: "bob"}, []int64{}},
		{RunFilter{Key: "acme/core#13"}, []int64{b}},
		{RunFilter{Repo: "acme/other"}, []int64{}},
	} {
		got, err := s.History(ctx, tc.f, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if g := ids(got); !equalIDs(g, tc.want) {
			t.Errorf("History(%+v) = %v, want %v", tc.f, g, tc.want)
		}
	}
	// Pages: newest first, then the ones before the last shown.
	page1, _ := s.History(ctx, RunFilter{}, 0, 2)
	page2, _ := s.History(ctx, RunFilter{}, page1[len(page1)-1].ID, 2)
	if g1, g2 := ids(page1), ids(page2); !equalIDs(g1, []int64{c, b}) || !equalIDs(g2, []int64{a}) {
		t.Errorf("pages %v %v, want [%d %d] [%d]", g1, g2, c, b, a)
	}
	live, err := s.LiveList(ctx, RunFilter{Author: "BOB"})
	if err != nil || !equalIDs(ids(live), []int64{d}) {
		t.Errorf("LiveList(bob) = %v %v, want [%d]", ids(live), err, d)
	}
	// A run's members follow its changeset.
	if err := s.SetRunChangeset(ctx, d, "r", csOf("acme/lib#3", &changeset.PR{Repo: "acme/lib", Number: 3, Author: "carol"})); err != nil {
		t.Fatal(err)
	}
	if live, _ := s.LiveList(ctx, RunFilter{Author: "bob"}); len(live) != 0 {
		t.Errorf("LiveList(bob) after the changeset changed = %v, want none", ids(live))
	}
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRunStep(t *testing.T) {
	s, _ := openTest(t)
	clk := withClock(s)
	ctx := context.Background()
	id, _, _ := s.EnqueueRun(ctx, Run{Key: "o/a#1"}, 0)
	at := clk.now().Add(3 * time.Second)
	// Not building yet: nothing to record.
	s.SetRunStep(ctx, id, "setup a: make", at)
	if r, _ := s.GetRun(ctx, id); r.Step != "" {
		t.Fatalf("a queued run has step %q", r.Step)
	}
	s.ClaimRun(ctx, clk.now())
	if err := s.SetRunStep(ctx, id, "setup a: make", at); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.GetRun(ctx, id); r.Step != "setup a: make" || !r.StepAt.Equal(at) {
		t.Fatalf("step %q at %v, want setup a: make at %v", r.Step, r.StepAt, at)
	}
	// Put back in the queue, it starts from the beginning.
	s.Requeue(ctx, id)
	if r, _ := s.GetRun(ctx, id); r.Step != "" || !r.StepAt.IsZero() {
		t.Fatalf("a requeued run keeps step %q", r.Step)
	}
}

func TestWaitingChangesets(t *testing.T) {
	s, _ := openTest(t)
	clk := withClock(s)
	ctx := context.Background()
	fork := &changeset.PR{Repo: "acme/core", Number: 7, Author: "mallory"}
	lib := &changeset.PR{Repo: "acme/lib", Number: 2, Author: "alice"}
	k := "acme/core#7,acme/lib#2"
	keys := func(f RunFilter) []string {
		t.Helper()
		ws, err := s.WaitingList(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, w := range ws {
			out = append(out, w.Key)
		}
		return out
	}
	if err := s.SetWaiting(ctx, Waiting{Key: k, Changeset: csOf(k, fork, lib), Needs: []string{"acme/core#7"}, Reason: "opened", Command: "/workspace"}); err != nil {
		t.Fatal(err)
	}
	since := clk.now()
	clk.advance(time.Minute)
	// Found waiting again (a newer push): since stays.
	s.SetWaiting(ctx, Waiting{Key: k, Changeset: csOf(k, fork, lib), Reason: "synchronize"})
	ws, _ := s.WaitingList(ctx, RunFilter{})
	if len(ws) != 1 || !ws[0].Since.Equal(since) || !ws[0].Updated.Equal(clk.now()) || ws[0].Reason != "synchronize" || len(ws[0].Changeset.Members) != 2 || len(ws[0].Needs) != 0 {
		t.Fatalf("waiting = %+v", ws)
	}
	s.SetWaiting(ctx, Waiting{Key: "acme/x#1", Changeset: csOf("acme/x#1", &changeset.PR{Repo: "acme/x", Number: 1, Author: "mallory"}), Needs: []string{"acme/x#1", "acme/y#2"}})
	if ws, _ := s.WaitingList(ctx, RunFilter{Key: "acme/x#1"}); len(ws) != 1 || strings.Join(ws[0].Needs, " ") != "acme/x#1 acme/y#2" {
		t.Fatalf("waiting acme/x#1 needs %+v", ws)
	}
	for f, want := range map[RunFilter][]string{
		{Author: "MALLORY"}:              {k, "acme/x#1"},
		{Repo: "acme/lib"}:               {k},
		{Repo: "acme/core", PR: 8}:       {},
		{Key: "acme/x#1"}:                {"acme/x#1"},
		{Repo: "acme/lib", Author: "bo"}: {},
	} {
		if got := keys(f); len(got) != len(want) || (len(got) > 0 && got[0] != want[0]) {
			t.Errorf("WaitingList(%+v) = %v, want %v", f, got, want)
		}
	}

	// A member closed: the changesets holding it wait no more.
	if _, err := s.Cancel(ctx, "", lifecycle.Cancel{Member: "ACME/x#1"}); err != nil {
		t.Fatal(err)
	}
	if got := keys(RunFilter{}); len(got) != 1 || got[0] != k {
		t.Fatalf("after acme/x#1 closed: %v", got)
	}
	// A trigger from the PR now finds it in another changeset.
	if err := s.SettleWaiting(ctx, "acme/core#7", []string{k}); err != nil {
		t.Fatal(err)
	}
	if got := keys(RunFilter{}); len(got) != 1 {
		t.Fatalf("settled with its own key: %v", got)
	}
	if err := s.SettleWaiting(ctx, "acme/core#7", []string{"acme/core#7"}); err != nil {
		t.Fatal(err)
	}
	if got := keys(RunFilter{}); len(got) != 0 {
		t.Fatalf("superseded by another changeset, still waiting: %v", got)
	}

	// Approved: the trigger that queues its run clears it.
	s.SetWaiting(ctx, Waiting{Key: k, Changeset: csOf(k, fork, lib)})
	tr, err := s.Trigger(ctx, Run{Key: k, Heads: "h1", Changeset: csOf(k, fork, lib)}, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	s.Release(ctx, tr.ID, clk.now())
	if got := keys(RunFilter{}); len(got) != 0 {
		t.Fatalf("approved and queued, still waiting: %v", got)
	}

	// A claimed run whose heads are not approved waits, with its id.
	r, _ := s.ClaimRun(ctx, clk.now().Add(time.Hour))
	if r == nil {
		t.Fatal("nothing to claim")
	}
	if err := s.WaitRun(ctx, r.ID, Waiting{Key: k, Changeset: csOf(k, fork, lib)}); err != nil {
		t.Fatal(err)
	}
	if ws, _ := s.WaitingList(ctx, RunFilter{}); len(ws) != 1 || ws[0].Run != r.ID {
		t.Fatalf("the run that waits: %+v", ws)
	}
	if c, err := s.CountQueue(ctx); err != nil || c != (QueueCounts{Waiting: 1}) {
		t.Fatalf("CountQueue = %+v %v", c, err)
	}
	// Left waiting past the runs' retention, it goes.
	clk.advance(RunRetention + time.Hour)
	if _, _, err := s.Prune(ctx, clk.now()); err != nil {
		t.Fatal(err)
	}
	if got := keys(RunFilter{}); len(got) != 0 {
		t.Fatalf("pruned, still waiting: %v", got)
	}
}

func TestMigrationFillsRunMembers(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), FileName)
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	// Up to the step that adds run_members, whichever steps come after.
	before := slices.IndexFunc(migrations, func(m string) bool { return strings.Contains(m, "CREATE TABLE run_members") })
	for v := 0; v < before; v++ {
		if err := step(ctx, db, v); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{
		`INSERT INTO runs (id, key, state, created_at, changeset) VALUES
 (1, 'K', 'success', 1, CAST('{"Key":"K","Members":[{"PR":{"Repo":"acme/core","Number":12,"Author":"alice"}},{"PR":{"Repo":"acme/lib","Number":3}}]}' AS BLOB)),
 (2, 'L', 'success', 1, CAST('not json' AS BLOB)),
 (3, 'M', 'success', 1, NULL),
 (4, 'N', 'success', 1, CAST('{"Key":"N","Members":[{"PR":null},{"PR":{"Repo":"acme/x","Number":"7"}}]}' AS BLOB))`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for f, want := range map[RunFilter][]int64{
		{Author: "alice"}:          {1},
		{Repo: "acme/lib", PR: 3}:  {1},
		{Repo: "acme/x"}:           {},
		{Repo: "acme/core", PR: 1}: {},
	} {
		got, err := s.History(ctx, f, 0, 10)
		if err != nil || !equalIDs(ids(got), want) {
			t.Errorf("History(%+v) after the migration = %v %v, want %v", f, ids(got), err, want)
		}
	}
}
