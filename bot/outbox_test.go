package bot

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/store"
	"github.com/provide-io/workspace-bot/lifecycle"
)

// pending is how many reports the outbox still owes.
func (h *harness) pending() int {
	h.t.Helper()
	b, err := h.st.ReportBacklog(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return b.Pending
}

// Final statuses GitHub failed to take are sent again by the sweep, and
// nothing lands after them.
func TestFailedFinalStatusesAreSentAgain(t *testing.T) {
	h := newHarness(t, nil)
	h.threeSiblings()
	h.gh.mu.Lock()
	h.gh.failFinal = 2
	h.gh.mu.Unlock()
	h.handle(prEvent("opened", prCore, nil))
	h.settle()
	if h.pending() != 2 {
		t.Fatalf("%d reports owed after 2 failed sends, want 2", h.pending())
	}
	h.advance(ReportSweep) // their retry is due
	for _, pr := range []*changeset.PR{prCore, prLib, prApp} {
		h.waitState(pr.Repo, pr.HeadSHA, "success")
	}
	h.expect("an empty outbox", func() bool { return h.pending() == 0 })
	for _, pr := range []*changeset.PR{prCore, prLib, prApp} {
		if st := h.gh.lastState(pr.Repo, pr.HeadSHA); st.State != "success" {
			t.Errorf("%s ends %+v", pr.Ref(), st)
		}
	}
}

// A summary comment GitHub created but whose answer was lost is found by
// its marker when the report is sent again: one comment per PR.
func TestLostCommentAnswerMakesNoDuplicate(t *testing.T) {
	h := newHarness(t, nil)
	h.threeSiblings()
	h.gh.mu.Lock()
	h.gh.loseComments = 3
	h.gh.mu.Unlock()
	h.handle(prEvent("opened", prCore, nil))
	h.settle()
	h.advance(ReportSweep) // the lost ones' retry is due
	for _, pr := range []*changeset.PR{prCore, prLib, prApp} {
		h.waitState(pr.Repo, pr.HeadSHA, "success")
	}
	h.expect("an empty outbox", func() bool { return h.pending() == 0 })
	for _, pr := range []*changeset.PR{prCore, prLib, prApp} {
		if cs := h.gh.commentsOn(pr.Ref()); len(cs) != 1 || !strings.Contains(cs[0].Body, "passed") {
			t.Errorf("%s has %d comments: %+v", pr.Ref(), len(cs), cs)
		}
		id, ok, err := h.st.CommentID(context.Background(), pr.Repo, pr.Number)
		if err != nil || !ok || id != h.gh.commentsOn(pr.Ref())[0].ID {
			t.Errorf("%s: recorded comment %d %v %v", pr.Ref(), id, ok, err)
		}
	}
}

// A check run GitHub created but whose answer was lost is found on the
// head by the run's external id: one check run per head, completed.
func TestLostCheckRunAnswerMakesNoDuplicate(t *testing.T) {
	checks := newFakeChecks()
	checks.lose = 3
	h := newHarness(t, func(s *setup) { s.Checks = checks })
	h.threeSiblings()
	h.handle(prEvent("opened", prCore, nil))
	h.expect("completed check runs", func() bool {
		for _, pr := range []*changeset.PR{prCore, prLib, prApp} {
			if cr, _ := checks.get(pr.Repo, pr.HeadSHA); cr.Status != "completed" {
				return false
			}
		}
		return true
	})
	h.expect("an empty outbox", func() bool { return h.pending() == 0 })
	for _, pr := range []*changeset.PR{prCore, prLib, prApp} {
		found, _ := checks.CheckRuns(context.Background(), pr.Repo, pr.HeadSHA, "workspace/integration")
		if len(found) != 1 || found[0].Status != "completed" {
			t.Errorf("%s: check runs %+v, want one completed", pr.Ref(), found)
		}
	}
	if cr, n := checks.get("acme/core", "c1"); n != 3 || cr.Conclusion != "success" {
		t.Errorf("check run %+v, %d created", cr, n)
	}
}

// A result recorded with its reports, and a process that died before
// sending them: the next start sends them.
func TestReportsOwedAreSentOnStart(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "crashed.db"))
	if err != nil {
		t.Fatal(err)
	}
	cs := &changeset.Changeset{Members: []changeset.Member{{PR: prCore, Sibling: "core"}, {PR: prLib, Sibling: "lib"}}, Key: "acme/core#1,acme/lib#2", RunID: "r1"}
	id, _, err := st.EnqueueRun(ctx, store.Run{Key: cs.Key, Heads: cs.RunID, Changeset: cs}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ClaimRun(ctx, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	// The process that built the run: it records the result and the
	// reports, and dies before sending any.
	dead := newHarness(t, nil)
	p := NewPlan(&ConfigFile{Config: dead.cfg, Name: "wrknv.toml"}, cs)
	p.Run = id
	o := &Outcome{Result: &ci.Result{Result: ci.Failure, Changeset: cs.Key, Steps: []ci.StepResult{{Name: "test", Result: ci.Failure, LogTail: "boom"}}}}
	if err := st.FinishRun(ctx, id, o.Ended(), o.Result, dead.bot.finalReports(ctx, p, o)...); err != nil {
		t.Fatal(err)
	}
	if b, _ := st.ReportBacklog(ctx); b.Pending != 4 {
		t.Fatalf("%d reports owed, want 2 states and 2 summaries", b.Pending)
	}

	h := newHarness(t, func(s *setup) { s.Store = st })
	for _, pr := range []*changeset.PR{prCore, prLib} {
		h.waitState(pr.Repo, pr.HeadSHA, "failure")
		h.expect("the summary on "+pr.Ref(), func() bool {
			cs := h.gh.commentsOn(pr.Ref())
			return len(cs) == 1 && strings.Contains(cs[0].Body, "boom")
		})
	}
	h.expect("an empty outbox", func() bool { return h.pending() == 0 })
	if n := h.bld.callCount(); n != 0 {
		t.Errorf("the finished run was built again %d times", n)
	}
}

// A newer report for a target replaces the one still owed: the older is
// never sent after it.
func TestNewerReportReplacesOwedOne(t *testing.T) {
	h := newHarness(t, nil)
	h.q.Stop(time.Second) // no sweep: only Flush sends what is owed
	h.gh.mu.Lock()
	h.gh.failFinal = 1
	h.gh.mu.Unlock()
	p := NewPlan(&ConfigFile{Config: h.cfg, Name: "wrknv.toml"}, &changeset.Changeset{Key: "acme/core#1", Members: []changeset.Member{{PR: prCore}}})
	ctx := context.Background()
	h.bot.report(ctx, h.bot.stateReports(p, lifecycle.Done, lifecycle.Failure, "the first run failed", nil)...)
	if h.pending() != 1 {
		t.Fatalf("the failed send is not owed")
	}
	h.bot.setState(ctx, p, lifecycle.Queued)
	if left, err := h.bot.Flush(ctx); left != 0 || err != nil {
		t.Fatalf("Flush: %d left, %v", left, err)
	}
	h.gh.mu.Lock()
	sts := append([]Status(nil), h.gh.statuses["acme/core@c1"]...)
	h.gh.mu.Unlock()
	if len(sts) != 1 || sts[0].State != "pending" || h.pending() != 0 {
		t.Fatalf("statuses %+v with %d owed, want only the newer pending", sts, h.pending())
	}
}

// The Action has no sweep: Flush sends what GitHub did not take at once
// before the step ends.
func TestFlushSendsWhatWasNotTaken(t *testing.T) {
	h := newHarness(t, nil)
	h.q.Stop(time.Second) // no sweep: what is owed stays owed until Flush
	h.gh.mu.Lock()
	h.gh.failFinal = 1
	h.gh.mu.Unlock()
	p := NewPlan(&ConfigFile{Config: h.cfg, Name: "wrknv.toml"}, &changeset.Changeset{Key: "acme/core#1", Members: []changeset.Member{{PR: prCore}}})
	h.bot.report(context.Background(), h.bot.stateReports(p, lifecycle.Done, lifecycle.Success, "passed", nil)...)
	if h.pending() != 1 {
		t.Fatal("the failed send is not owed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if left, err := h.bot.Flush(ctx); left != 0 || err != nil {
		t.Fatalf("Flush: %d left, %v", left, err)
	}
	if st := h.gh.lastState("acme/core", "c1"); st.State != "success" {
		t.Fatalf("final state %+v", st)
	}
}
