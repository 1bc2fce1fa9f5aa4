package bot

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/store"
	"github.com/provide-io/workspace-bot/lifecycle"
)

func prEvent(action string, pr *changeset.PR, changes map[string]any) *PullRequestEvent {
	cp := *pr
	_, body := changes["body"]
	return &PullRequestEvent{Action: action, PR: &cp, BodyChanged: body}
}

func commentEv(repo string, n int, id int64, user, assoc, body string, onPR bool) *CommentEvent {
	return &CommentEvent{Action: "created", Repo: repo, Number: n, OnPR: onPR, IssueState: "open",
		Comment: Comment{ID: id, Body: body, User: user, AuthorAssociation: assoc}}
}

var (
	prCore = &changeset.PR{Repo: "acme/core", Number: 1, HeadRef: "feat", HeadSHA: "c1", BaseRef: "main", Author: "alice", AuthorAssociation: "MEMBER"}
	prLib  = &changeset.PR{Repo: "acme/lib", Number: 2, HeadRef: "feat", HeadSHA: "l1", BaseRef: "main", Author: "alice", AuthorAssociation: "MEMBER"}
	prApp  = &changeset.PR{Repo: "acme/app", Number: 3, HeadRef: "feat", HeadSHA: "a1", BaseRef: "main", Author: "alice", AuthorAssociation: "MEMBER"}
)

func (h *harness) threeSiblings() {
	for _, pr := range []*changeset.PR{prCore, prLib, prApp} {
		h.gh.addPR(pr)
	}
	h.res.groups = [][]string{{"acme/app#3", "acme/core#1", "acme/lib#2"}}
}

// handle hands the bot an event, as a delivery worker does; a comment
// is made now by the bot's clock.
func (h *harness) handle(ev Event) {
	h.t.Helper()
	if c, ok := ev.(*CommentEvent); ok && c.Comment.CreatedAt.IsZero() {
		c.Comment.CreatedAt = h.clk.Now()
	}
	if _, err := h.bot.Handle(context.Background(), ev); err != nil {
		h.t.Fatalf("handle %s: %v", ev.Name(), err)
	}
}

// waitState settles the core, then checks the state on repo@sha.
func (h *harness) waitState(repo, sha, state string) {
	h.t.Helper()
	h.settle()
	if got := h.gh.lastState(repo, sha); got.State != state {
		h.t.Fatalf("the queue is idle and %s@%s is %q (%s), want %s", repo, sha, got.State, got.Description, state)
	}
}

func TestChangesetPassesEverywhere(t *testing.T) {
	h := newHarness(t, nil)
	h.threeSiblings()
	h.handle(prEvent("opened", prLib, nil))
	for _, pr := range []*changeset.PR{prCore, prLib, prApp} {
		h.waitState(pr.Repo, pr.HeadSHA, "success")
		sts := h.gh.statuses[pr.Repo+"@"+pr.HeadSHA]
		if sts[0].State != "pending" || !strings.HasPrefix(sts[0].Description, "queued") {
			t.Errorf("%s: first status %+v, want pending queued", pr.Ref(), sts[0])
		}
		last := sts[len(sts)-1]
		if last.Context != "workspace/integration" || !strings.HasPrefix(last.TargetURL, "https://bot.example/runs/") {
			t.Errorf("%s: final status %+v", pr.Ref(), last)
		}
		h.expect("summary on "+pr.Ref(), func() bool { return len(h.gh.commentsOn(pr.Ref())) == 1 })
		if c := h.gh.commentsOn(pr.Ref())[0]; !strings.HasPrefix(c.Body, SummaryMarker) || !strings.Contains(c.Body, "passed") {
			t.Errorf("%s: summary %q", pr.Ref(), c.Body)
		}
	}
	req := h.bld.calls[0]
	if req.Changeset != "acme/app#3,acme/core#1,acme/lib#2" || req.Pins["core"].SHA != "c1" || req.Pins["lib"].FetchRef != "refs/pull/2/head" || req.Pins["app"].Base != "main" {
		t.Errorf("request pins %+v", req.Pins)
	}
	if !req.Trusted {
		t.Error("a changeset of trusted authors' PRs was built as untrusted: it never gets a warm root or the cache")
	}

	// The same heads again (a redelivery, a title-only edit) do not
	// build again; a push does, and the summary is edited, not added.
	h.handle(prEvent("synchronize", prCore, nil))
	h.handle(prEvent("edited", prCore, nil))
	h.settle()
	if n := h.bld.callCount(); n != 1 {
		t.Fatalf("builds after duplicate events = %d, want 1", n)
	}
	pushed := *prCore
	pushed.HeadSHA = "c2"
	h.gh.addPR(&pushed)
	h.bld.set(func(f *fakeBuilder) {
		f.Value = &ci.Result{Result: ci.Failure, Steps: []ci.StepResult{
			{Name: "test", Command: "make check", Result: ci.Failure, LogTail: "boom: assertion failed"}}}
	})
	h.handle(prEvent("synchronize", &pushed, nil))
	h.waitState("acme/core", "c2", "failure")
	h.waitState("acme/app", "a1", "failure")
	for _, ref := range []string{"acme/core#1", "acme/lib#2", "acme/app#3"} {
		h.expect("edited summary on "+ref, func() bool {
			cs := h.gh.commentsOn(ref)
			return len(cs) == 1 && strings.Contains(cs[0].Body, "boom: assertion failed")
		})
	}
	if d := h.gh.lastState("acme/lib", "l1").Description; d != "failed at test: make check" {
		t.Errorf("failure description %q", d)
	}
	run, err := h.st.LatestRun(context.Background(), "acme/app#3,acme/core#1,acme/lib#2")
	if err != nil || run.Ended != lifecycle.Failure {
		t.Fatalf("latest run %+v %v", run, err)
	}
	log, _ := h.st.Log(context.Background(), run.ID)
	if !strings.Contains(string(log), "building acme/app#3") {
		t.Errorf("run log %q", log)
	}
}

func TestBurstCoalescesAndPushSupersedes(t *testing.T) {
	h := newHarness(t, func(s *setup) { s.Queue.CoalesceWindow = 300 * time.Millisecond })
	h.threeSiblings()
	// Three events inside the window: the clock moves less than it
	// between them, and nothing is due until it has passed.
	for _, pr := range []*changeset.PR{prCore, prLib, prApp} {
		h.handle(prEvent("synchronize", pr, nil))
		h.advance(100 * time.Millisecond)
	}
	if n := h.bld.callCount(); n != 0 {
		t.Fatalf("%d builds inside the coalescing window", n)
	}
	h.waitState("acme/app", "a1", "success")
	if n := h.bld.callCount(); n != 1 {
		t.Fatalf("a burst of 3 events built %d times, want 1", n)
	}

	// A push during a run cancels it; the new run reports.
	block := make(chan struct{})
	h.bld.set(func(f *fakeBuilder) { f.Block = block })
	p2 := *prLib
	p2.HeadSHA = "l2"
	h.gh.addPR(&p2)
	h.handle(prEvent("synchronize", &p2, nil))
	second := h.building()
	first, _ := h.st.LatestRun(context.Background(), "acme/app#3,acme/core#1,acme/lib#2")
	p3 := *prLib
	p3.HeadSHA = "l3"
	h.gh.addPR(&p3)
	h.handle(prEvent("synchronize", &p3, nil))
	<-second // the push cancelled the second build
	third := h.building()
	close(block)
	<-third
	h.waitState("acme/lib", "l3", "success")
	if n := h.bld.callCount(); n != 3 {
		t.Errorf("%d builds, want 3", n)
	}
	r, _ := h.st.GetRun(context.Background(), first.ID)
	if r.Ended != lifecycle.Superseded || r.Superseded == 0 {
		t.Fatalf("superseded run %+v, want superseded, naming the run that did", r)
	}
	// The pushed-over head gets a final state, so no old commit shows a
	// check that never finishes; heads the new run still tests do not.
	if s := h.gh.lastState("acme/lib", "l2"); s.State != "error" || !strings.Contains(s.Description, "superseded by a newer push to acme/lib#2 (l3)") {
		t.Errorf("superseded head status %+v, want error saying it was superseded", s)
	}
	if s := h.gh.lastState("acme/core", "c1"); s.State != "success" {
		t.Errorf("a head the newer run tested got %+v, want success", s)
	}
}

func TestResolutionErrorReportedOnTriggeringPR(t *testing.T) {
	h := newHarness(t, nil)
	h.gh.addPR(prApp)
	h.res.Error = errors.Join(
		&changeset.Error{Kind: changeset.KindNotInWorkspace, PR: changeset.Ref{Repo: "acme/zzz", Number: 9}, Via: "Depends-On in acme/app#3",
			Problem: "repository acme/zzz is not in the workspace", Fix: "remove the Depends-On line or add the sibling to wrknv.toml"},
		&changeset.Error{Kind: changeset.KindClosed, PR: changeset.Ref{Repo: "acme/core", Number: 1}, Problem: "closed"})
	h.handle(prEvent("opened", prApp, nil))
	st := h.gh.lastState("acme/app", "a1")
	if st.State != "failure" || !strings.Contains(st.Description, "acme/zzz") || len(st.Description) > 140 {
		t.Fatalf("status %+v", st)
	}
	cs := h.gh.commentsOn("acme/app#3")
	if len(cs) != 1 || !strings.Contains(cs[0].Body, "- acme/zzz#9 (Depends-On in acme/app#3): repository acme/zzz is not in the workspace\n- acme/core#1: closed") || !strings.Contains(cs[0].Body, "remove the Depends-On line") || !strings.Contains(cs[0].Body, "**Fix:**") {
		t.Fatalf("comments %+v", cs)
	}
	if h.bld.callCount() != 0 {
		t.Fatal("a broken changeset was built")
	}
	// GitHub failing is no verdict on the changeset: the delivery is
	// retried and nothing is reported.
	h.res.Error = errors.New("GET /repos/acme/core/pulls: 502 Bad Gateway")
	if _, err := h.bot.Handle(context.Background(), prEvent("synchronize", prApp, nil)); err == nil {
		t.Fatal("a GitHub outage during resolution did not fail the delivery")
	}
	if n := len(h.gh.commentsOn("acme/app#3")); n != 1 {
		t.Fatalf("%d comments after an outage", n)
	}
}

func TestClosedMemberCancelsRun(t *testing.T) {
	h := newHarness(t, nil)
	h.threeSiblings()
	block := make(chan struct{})
	defer close(block)
	h.bld.set(func(f *fakeBuilder) { f.Block = block })
	h.handle(prEvent("opened", prCore, nil))
	running := h.building()
	closed := *prApp
	closed.State = "closed"
	h.gh.addPR(&closed)
	ev := prEvent("closed", &closed, nil)
	ev.Sender = "carol" // a maintainer, not the author
	h.handle(ev)
	<-running
	h.waitState("acme/core", "c1", "error")
	h.waitState("acme/lib", "l1", "error")
	d := h.gh.lastState("acme/lib", "l1").Description
	for _, want := range []string{"cancelled by @carol", "acme/app#3 was closed", "comment /workspace test on another member"} {
		if !strings.Contains(d, want) {
			t.Errorf("description %q does not say %q", d, want)
		}
	}
	if closed.Author != "" && strings.Contains(d, closed.Author) {
		t.Errorf("description %q names the PR's author, not who closed it", d)
	}
}

func TestPanicInRunIsReported(t *testing.T) {
	h := newHarness(t, nil)
	h.threeSiblings()
	h.bld.set(func(f *fakeBuilder) { f.Panic = "nil map" })
	h.handle(prEvent("opened", prCore, nil))
	h.waitState("acme/lib", "l1", "error")
	if d := h.gh.lastState("acme/lib", "l1").Description; !strings.Contains(d, "nil map") {
		t.Errorf("description %q", d)
	}
	// The worker survived and builds the next run.
	h.bld.set(func(f *fakeBuilder) { f.Panic = "" })
	h.handle(commentEv("acme/lib", 2, 7, "alice", "MEMBER", "/workspace test", true))
	h.waitState("acme/lib", "l1", "success")
}

func TestShutdownRequeuesRunningRun(t *testing.T) {
	h := newHarness(t, nil)
	h.threeSiblings()
	h.bld.set(func(f *fakeBuilder) { f.Block = make(chan struct{}) })
	h.handle(prEvent("opened", prCore, nil))
	running := h.building()
	h.q.Stop(0)
	<-running
	r, _ := h.st.LatestRun(context.Background(), "acme/app#3,acme/core#1,acme/lib#2")
	if r.State != lifecycle.Queued {
		t.Fatalf("run after shutdown: %s, want queued", r.State)
	}
	if s := h.gh.lastState("acme/core", "c1"); s.State != "pending" {
		t.Fatalf("status after shutdown %+v, want pending", s)
	}
}

func TestReRunWithoutAppIsIgnored(t *testing.T) {
	h := newHarness(t, nil)
	h.threeSiblings()
	for _, event := range []string{"check_run", "check_suite"} {
		if _, err := h.bot.Handle(context.Background(), &RerunEvent{Event: event, Action: "rerequested", Repo: "acme/lib", HeadSHA: "l1"}); err != nil {
			t.Fatalf("%s: %v", event, err)
		}
	}
	if h.bld.callCount() != 0 {
		t.Fatal("a re-run was started without App mode")
	}
}

func TestRunInterruptedTooOftenIsReportedNotRetried(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "crashy.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cs := &changeset.Changeset{Members: []changeset.Member{{PR: prCore, Sibling: "core"}}, Key: "acme/core#1", RunID: "r1"}
	if _, _, err := st.EnqueueRun(ctx, store.Run{Key: "acme/core#1", Heads: "r1", Changeset: cs}, 0); err != nil {
		t.Fatal(err)
	}
	// Each start that never finished, as when the run crashes the service.
	for i := 0; i < maxRunAttempts; i++ {
		if r, err := st.ClaimRun(ctx, time.Now().Add(time.Second)); err != nil || r == nil {
			t.Fatalf("claim %d: %v %v", i, r, err)
		}
		if _, err := st.RequeueInterrupted(ctx); err != nil {
			t.Fatal(err)
		}
	}
	h := newHarness(t, func(s *setup) { s.Store = st })
	h.gh.addPR(prCore)
	h.waitState("acme/core", "c1", "error")
	if d := h.gh.lastState("acme/core", "c1").Description; !strings.Contains(d, "interrupted") {
		t.Errorf("description %q should say the run kept being interrupted", d)
	}
	if n := h.bld.callCount(); n != 0 {
		t.Errorf("the builder ran %d times; an interrupted-too-often run must not build again", n)
	}
}

// Events about heads that are queued, building or built never cancel and
// build them again, however their handling interleaves with the workers:
// the decisions are one store transaction.
func TestSameHeadsAreNeverCancelledAndBuiltAgain(t *testing.T) {
	h := newHarness(t, func(s *setup) { s.Queue.CoalesceWindow = 0 })
	h.threeSiblings()
	block := make(chan struct{})
	h.bld.set(func(f *fakeBuilder) { f.Block = block })
	// The service's own workers claim and build while the events are
	// handled, in whatever order the scheduler picks.
	if err := h.q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := 0; i < 10; i++ {
		for _, pr := range []*changeset.PR{prCore, prLib, prApp} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := h.bot.Handle(context.Background(), prEvent("synchronize", pr, nil)); err != nil {
					errs <- err
				}
			}()
		}
		runtime.Gosched()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	close(block)
	// Stop lets the build under way finish; a run left queued, or put
	// back, would show below as a run that did not pass.
	h.q.Stop(time.Minute)
	if s := h.gh.lastState("acme/app", "a1"); s.State != "success" {
		t.Errorf("acme/app@a1 is %+v, want success", s)
	}
	if n := h.bld.callCount(); n != 1 {
		t.Errorf("the same heads were built %d times", n)
	}
	runs, err := h.st.RecentRuns(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if r.Ended != lifecycle.Success {
			t.Errorf("run %d of the same heads is %s (superseded by %d)", r.ID, r.State, r.Superseded)
		}
	}
	if len(runs) != 1 {
		t.Errorf("%d runs of one set of heads, want 1", len(runs))
	}
}
