package bot

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/store"
)

// waiting is what the store lists as waiting for an approval.
func (h *harness) waiting() []store.Waiting {
	h.t.Helper()
	ws, err := h.st.WaitingList(context.Background(), store.RunFilter{})
	if err != nil {
		h.t.Fatal(err)
	}
	return ws
}

// A changeset with untrusted code is recorded as waiting, with whom it
// waits for, from the trigger that found it so until one that runs it;
// a push keeps it waiting, and a close ends the wait.
func TestWaitingChangesetIsRecordedUntilApprovedOrClosed(t *testing.T) {
	h := newHarness(t, nil)
	fork := &changeset.PR{Repo: "acme/lib", Number: 2, HeadRef: "feat", HeadSHA: "f1", BaseRef: "main",
		Author: "eve", AuthorAssociation: "FIRST_TIME_CONTRIBUTOR", Fork: true, HeadRepo: "eve/lib"}
	h.gh.addPR(fork)
	h.handle(prEvent("opened", fork, nil))
	h.settle()
	ws := h.waiting()
	if len(ws) != 1 || ws[0].Key != "acme/lib#2" || ws[0].Run != 0 || ws[0].Command != "/workspace" ||
		len(ws[0].Changeset.Members) != 1 || ws[0].Changeset.Members[0].Trusted || ws[0].Changeset.Members[0].PR.Author != "eve" ||
		len(ws[0].Needs) != 1 || ws[0].Needs[0] != "acme/lib#2" {
		t.Fatalf("waiting after the fork opened: %+v", ws)
	}
	// Its status links the queue page, which says whose code waits.
	if st := h.gh.lastState("acme/lib", "f1"); st.TargetURL != "https://bot.example/runs?pr=2&repo=acme%2Flib" {
		t.Errorf("the waiting status links %q, want the queue page of acme/lib#2", st.TargetURL)
	}
	h.gh.perms["alice"] = "maintain"
	h.comment("acme/lib", 2, 41, "alice", "MEMBER", "/workspace test")
	h.waitState("acme/lib", "f1", "success")
	if ws := h.waiting(); len(ws) != 0 {
		t.Fatalf("approved and built, still waiting: %+v", ws)
	}
	pushed := *fork
	pushed.HeadSHA = "f2"
	h.gh.addPR(&pushed)
	h.handle(prEvent("synchronize", &pushed, nil))
	h.settle()
	if ws := h.waiting(); len(ws) != 1 || ws[0].Changeset.Members[0].PR.HeadSHA != "f2" {
		t.Fatalf("a push after the approval does not wait: %+v", ws)
	}
	pushed.State = "closed"
	h.handle(prEvent("closed", &pushed, nil))
	h.settle()
	if ws := h.waiting(); len(ws) != 0 {
		t.Fatalf("closed, still waiting: %+v", ws)
	}
}

// A building run's step is in the store, from the run's progress, for
// a page any replica serves.
func TestBuildingRunRecordsItsStep(t *testing.T) {
	h := newHarness(t, nil)
	h.threeSiblings()
	h.bld.Block = make(chan struct{})
	h.bld.Events = []ci.Event{
		{Kind: ci.EventFetch, Sibling: "core"},
		{Kind: ci.EventFetch, Sibling: "lib"},
		{Kind: ci.EventFetch, Sibling: "core", Done: true},
		{Kind: ci.EventFetch, Sibling: "lib", Done: true},
		{Kind: ci.EventHeartbeat, Name: "setup", Sibling: "core"},
		{Kind: ci.EventStep, Name: "test", Command: "pytest tests/integration"},
	}
	h.handle(prEvent("opened", prCore, nil))
	done := h.building()
	r, err := h.st.LatestRun(context.Background(), "acme/app#3,acme/core#1,acme/lib#2")
	if err != nil {
		t.Fatal(err)
	}
	if r.Step != "test workspace: pytest tests/integration" || !r.StepAt.Equal(h.clk.Now()) {
		t.Errorf("building run's step %q at %v, want the workspace test at %v", r.Step, r.StepAt, h.clk.Now())
	}
	close(h.bld.Block)
	<-done
}

// Steps that go at once show as the newest and how many more; between
// two steps the last one stays.
func TestStepTrackerShowsTheNewestGoingStep(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	id, _, _ := h.st.EnqueueRun(ctx, store.Run{Key: "k"}, 0)
	if r, _ := h.st.ClaimRun(ctx, h.clk.Now()); r == nil || r.ID != id {
		t.Fatal("no run to claim")
	}
	tr := &stepTracker{ctx: ctx, st: h.st, id: id, now: h.clk.Now, log: h.bot.log}
	step := func(e ci.Event, want string) {
		t.Helper()
		tr.event(e)
		if r, _ := h.st.GetRun(ctx, id); r.Step != want {
			t.Errorf("after %+v: step %q, want %q", e, r.Step, want)
		}
	}
	step(ci.Event{Kind: ci.EventCheckout, Sibling: "core"}, "checkout core")
	h.clk.Advance(time.Second)
	step(ci.Event{Kind: ci.EventCheckout, Sibling: "lib"}, "checkout lib (and 1 more at once)")
	step(ci.Event{Kind: ci.EventCheckout, Sibling: "lib", Done: true}, "checkout core")
	step(ci.Event{Kind: ci.EventCheckout, Sibling: "core", Done: true}, "checkout core")
	// A long command is cut: the store keeps a bounded line.
	tr.event(ci.Event{Kind: ci.EventStep, Name: "setup", Sibling: "core", Command: strings.Repeat("x", 5000)})
	if r, _ := h.st.GetRun(ctx, id); !strings.HasPrefix(r.Step, "setup core: xxx") || utf8.RuneCountInString(r.Step) > maxStepLabel {
		t.Errorf("a long step is stored as %d characters: %q", utf8.RuneCountInString(r.Step), r.Step)
	}
}
