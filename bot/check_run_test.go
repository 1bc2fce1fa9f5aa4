package bot

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/lifecycle"
)

// fakeChecks records check runs by head.
type fakeChecks struct {
	mu     sync.Mutex
	runs   map[int64]*CheckRun
	bySHA  map[string]int64 // the newest check run of each head
	heads  map[int64]string // the head of each check run
	nextID int64
	Error  error
	// lose creates that many of the next check runs but answers with an
	// error, as when the answer is lost on the way back.
	lose int
}

func (f *fakeChecks) CreateCheckRun(_ context.Context, repo, sha string, cr CheckRun) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Error != nil {
		return 0, f.Error
	}
	f.nextID++
	c := cr
	f.runs[f.nextID] = &c
	f.heads[f.nextID] = repo + "@" + sha
	f.bySHA[repo+"@"+sha] = f.nextID
	if f.lose > 0 {
		f.lose--
		return 0, errLost
	}
	return f.nextID, nil
}

func (f *fakeChecks) CheckRuns(_ context.Context, repo, sha, name string) ([]FoundCheckRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []FoundCheckRun
	for id, cr := range f.runs {
		if f.heads[id] == repo+"@"+sha && cr.Name == name {
			out = append(out, FoundCheckRun{ID: id, Status: cr.Status, ExternalID: cr.ExternalID})
		}
	}
	return out, f.Error
}

func (f *fakeChecks) UpdateCheckRun(_ context.Context, _ string, id int64, cr CheckRun) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.runs[id]
	// Empty fields are left as they are, as GitHub does.
	c.Status, c.Conclusion, c.Title = cr.Status, cr.Conclusion, cr.Title
	if cr.DetailsURL != "" {
		c.DetailsURL = cr.DetailsURL
	}
	if cr.Summary != "" {
		c.Summary = cr.Summary
	}
	return f.Error
}

func newFakeChecks() *fakeChecks {
	return &fakeChecks{runs: map[int64]*CheckRun{}, bySHA: map[string]int64{}, heads: map[int64]string{}}
}

// get returns the newest check run of a head and how many were created.
func (f *fakeChecks) get(repo, sha string) (CheckRun, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.bySHA[repo+"@"+sha]
	if !ok {
		return CheckRun{}, 0
	}
	return *f.runs[id], len(f.runs)
}

func TestAppModeReRunWithCheckRuns(t *testing.T) {
	checks := newFakeChecks()
	h := newHarness(t, func(s *setup) { s.Checks = checks })
	h.threeSiblings()
	// check_run as GitHub sends it for forks, without the PR attached;
	// check_suite with it.
	for _, ev := range []*RerunEvent{
		{Event: "check_run", Action: "rerequested", Repo: "acme/lib", HeadSHA: "l1"},
		{Event: "check_suite", Action: "rerequested", Repo: "acme/lib", HeadSHA: "l1", PRs: []int{2}},
	} {
		event := ev.Event
		before := h.bld.callCount()
		h.handle(ev)
		h.expect(event+" re-run", func() bool {
			for _, head := range [][2]string{{"acme/app", "a1"}, {"acme/core", "c1"}, {"acme/lib", "l1"}} {
				if cr, _ := checks.get(head[0], head[1]); cr.Conclusion != "success" || cr.DetailsURL != fmt.Sprintf("https://bot.example/runs/%d", before+1) {
					return false
				}
			}
			return h.bld.callCount() == before+1
		})
	}
	cr, n := checks.get("acme/core", "c1")
	if n != 3*2 || cr.Name != "workspace/integration" || cr.Status != "completed" || cr.DetailsURL == "" {
		t.Fatalf("check run %+v, %d check runs, %d builds, %v", cr, n, h.bld.callCount(), checks.bySHA)
	}
	if len(h.gh.statuses) != 0 {
		t.Fatalf("an App posted commit statuses: %v", h.gh.statuses)
	}
}

// Credentials that may not create check runs (a personal token in the
// Action) report with statuses instead.
func TestChecksRefusedReportWithStatuses(t *testing.T) {
	checks := newFakeChecks()
	checks.Error = fmt.Errorf("creating check run: %w", changeset.ErrForbidden)
	h := newHarness(t, func(s *setup) { s.Checks = checks })
	h.threeSiblings()
	h.handle(prEvent("opened", prCore, nil))
	for _, pr := range []*changeset.PR{prCore, prLib, prApp} {
		h.waitState(pr.Repo, pr.HeadSHA, "success")
	}
	if _, n := checks.get("acme/core", "c1"); n != 0 {
		t.Errorf("%d check runs created", n)
	}
}

// A check run's title is plain text on one line, its
// summary Markdown with what came from outside escaped; a commit status
// description is one plain line.
func TestReportedTextIsPlainOrEscaped(t *testing.T) {
	const command = "pytest -q || exit 1\n@provide-io/security-team \x1b[31m"
	fail := &ci.Result{Result: ci.Failure, Steps: []ci.StepResult{{Name: "test", Command: command, Result: ci.Failure}}}
	checks := newFakeChecks()
	h := newHarness(t, func(s *setup) { s.Checks = checks })
	h.bld.set(func(f *fakeBuilder) { f.Value = fail })
	h.threeSiblings()
	h.handle(prEvent("opened", prCore, nil))
	h.expect("a failed check run", func() bool { cr, _ := checks.get("acme/core", "c1"); return cr.Conclusion == "failure" })
	cr, _ := checks.get("acme/core", "c1")
	if want := "failed at test: pytest -q || exit 1 @provide-io/security-team [31m"; cr.Title != want {
		t.Errorf("title %q, want %q", cr.Title, want)
	}
	if want := "failed at test: pytest -q \\|\\| exit 1 @\u200dprovide-io/security-team \\[31m"; cr.Summary != want {
		t.Errorf("summary %q, want %q", cr.Summary, want)
	}

	s := newHarness(t, nil)
	s.bld.set(func(f *fakeBuilder) { f.Value = fail })
	s.threeSiblings()
	s.handle(prEvent("opened", prCore, nil))
	s.waitState("acme/core", "c1", "failure")
	if d := s.gh.lastState("acme/core", "c1").Description; d != "failed at test: pytest -q || exit 1 @provide-io/security-team [31m" {
		t.Errorf("status description %q", d)
	}
}

// A check run's status and conclusion come from the report's state, never
// from its words: a step named "running" or a failure whose description
// starts "cancelled" (both chosen by whoever wrote the config or the
// branch) show as what they are.
func TestCheckRunFromStateNotWords(t *testing.T) {
	for _, tc := range []struct {
		st               lifecycle.State
		res              lifecycle.Result
		desc             string
		status, conclude string
	}{
		{lifecycle.Queued, "", "running: the queue is long", "queued", ""},
		{lifecycle.Building, "", "queued: 2 PRs", "in_progress", ""},
		{lifecycle.Waiting, "", "waiting for a trusted /workspace test: o/r#1", "queued", ""},
		{lifecycle.Done, lifecycle.Failure, "cancelled at test: ./cancelled.sh", "completed", "failure"},
		{lifecycle.Done, lifecycle.Cancelled, "error: by alice", "completed", "cancelled"},
		{lifecycle.Done, lifecycle.Superseded, "superseded by a newer push to o/r#1 (abc1234)", "completed", "cancelled"},
		{lifecycle.Done, lifecycle.Error, "passed: not really", "completed", "failure"},
	} {
		cr := checkRunFor(payload{Phase: tc.st, Result: tc.res, Description: tc.desc}, 1)
		if cr.Status != tc.status || cr.Conclusion != tc.conclude {
			t.Errorf("%s %s %q: check run %s/%s, want %s/%s", tc.st, tc.res, tc.desc, cr.Status, cr.Conclusion, tc.status, tc.conclude)
		}
	}
	// A report stored before reports carried their phase shows as its
	// commit status state did.
	if cr := checkRunFor(payload{State: "failure", Description: "cancelled: by alice"}, 1); cr.Conclusion != "failure" {
		t.Errorf("an old failure report concludes %s", cr.Conclusion)
	}
}
