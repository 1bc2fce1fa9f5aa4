package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/gherror"
	"github.com/provide-io/workspace-bot/internal/store"
	"github.com/provide-io/workspace-bot/lifecycle"
	"github.com/provide-io/workspace-bot/workspace"
)

// fakeActions is GitHub's Actions API: each dispatch makes a run, whose
// status a test sets; Error fails every dispatch.
type fakeActions struct {
	mu         sync.Mutex
	runs       map[int64]*WorkflowRun
	inputs     map[int64]map[string]string
	cancelled  []int64
	next       int64
	Error      error
	noDetails  bool // answer dispatches as GHES does, without the run
	dispatches int
}

func newFakeActions() *fakeActions {
	return &fakeActions{runs: map[int64]*WorkflowRun{}, inputs: map[int64]map[string]string{}, next: 100}
}

func (f *fakeActions) DispatchWorkflow(_ context.Context, repo, workflow, ref string, inputs map[string]string) (WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Error != nil {
		return WorkflowRun{}, f.Error
	}
	f.dispatches++
	f.next++
	r := &WorkflowRun{ID: f.next, URL: fmt.Sprintf("https://github.example/%s/actions/runs/%d", repo, f.next), Status: "queued",
		Title: "workspace-bot run " + inputs["run"] + ", attempt " + inputs["attempt"]}
	f.runs[r.ID], f.inputs[r.ID] = r, inputs
	if f.noDetails {
		return WorkflowRun{}, nil
	}
	return *r, nil
}

func (f *fakeActions) WorkflowRun(_ context.Context, repo string, id int64) (WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.runs[id]
	if r == nil {
		return WorkflowRun{}, gherror.NotFound
	}
	return *r, nil
}

func (f *fakeActions) FindWorkflowRun(_ context.Context, repo, workflow, title string, since time.Time) (WorkflowRun, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.runs {
		if r.Title == title {
			return *r, true, nil
		}
	}
	return WorkflowRun{}, false, nil
}

func (f *fakeActions) CancelWorkflowRun(_ context.Context, repo string, id int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancelled = append(f.cancelled, id)
	if r := f.runs[id]; r != nil && r.Status != "completed" {
		r.Status, r.Conclusion = "completed", "cancelled"
	}
	return nil
}

// last is the newest run and the inputs it was dispatched with.
func (f *fakeActions) last() (*WorkflowRun, map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.runs[f.next], f.inputs[f.next]
}

func (f *fakeActions) set(id int64, status, conclusion string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.runs[id].Status, f.runs[id].Conclusion = status, conclusion
}

func actionsHarness(t *testing.T, api *fakeActions, more ...func(*setup)) *harness {
	return newHarness(t, func(s *setup) {
		s.Flaky = true
		for _, m := range more {
			m(s)
		}
		s.Executor = func(b *Bot, st *store.Store) Executor {
			a, err := NewActions(b, ActionsOptions{GitHub: api, Dispatches: st, ServiceURL: "https://bot.example", StartDeadline: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
	})
}

// A run handed to Actions holds no worker: Drain returns with the run
// building and its members pending on the workflow run; the posted
// result finishes it through the outbox.
func TestActionsDispatchThenResult(t *testing.T) {
	api := newFakeActions()
	h := actionsHarness(t, api)
	h.threeSiblings()
	h.handle(prEvent("opened", prCore, nil))
	h.settle()
	wr, in := api.last()
	if wr == nil {
		t.Fatal("nothing was dispatched")
	}
	if st := h.gh.lastState("acme/core", "c1"); st.State != "pending" || st.TargetURL != wr.URL {
		t.Fatalf("status %+v, want pending linking %s", st, wr.URL)
	}
	var id int64
	fmt.Sscan(in[InputRun], &id)
	r, _ := h.st.GetRun(context.Background(), id)
	if r.State != lifecycle.Building || in[InputService] != "https://bot.example" {
		t.Fatalf("run %+v, inputs %v", r, in)
	}
	// The ws repository is the config's [workspace] repo.
	plan, err := h.q.JobPlan(context.Background(), id, in[InputToken], 0)
	if err != nil {
		t.Fatal(err)
	}
	var job RemoteJob
	if err := json.Unmarshal(plan, &job); err != nil || job.Pins["core"].SHA != "c1" || !job.Trusted {
		t.Fatalf("plan %s: %v", plan, err)
	}
	res := &ci.Result{Result: ci.Success, Changeset: job.Changeset}
	for name, pin := range job.Pins {
		res.Siblings = append(res.Siblings, ci.SiblingResult{Name: name, SHA: pin.SHA})
	}
	body, _ := json.Marshal(JobResult{Result: res, Log: "the tail"})
	if err := h.q.JobResult(context.Background(), id, in[InputToken], body); err != nil {
		t.Fatal(err)
	}
	h.expect("success on core", func() bool { return h.gh.lastState("acme/core", "c1").State == "success" })
	if err := h.q.JobResult(context.Background(), id, in[InputToken], body); err != nil {
		t.Errorf("the same result again: %v", err)
	}
	var refusal *JobRefusal
	if err := h.q.JobResult(context.Background(), id, "wbrun_wrong", body); !errors.As(err, &refusal) || refusal.Status != http.StatusUnauthorized {
		t.Errorf("a wrong token: %v", err)
	}
}

// A lost job (its run completed without a result) is retried once; a
// second loss ends the run in an error. Both are found on the fake clock,
// with the queue drained.
func TestActionsLostTwice(t *testing.T) {
	api := newFakeActions()
	h := actionsHarness(t, api)
	h.threeSiblings()
	h.handle(prEvent("opened", prCore, nil))
	h.settle()
	first, _ := api.last()
	api.set(first.ID, "completed", "failure")
	h.settle()
	if st := h.gh.lastState("acme/core", "c1"); st.State != "pending" {
		t.Fatalf("after the retry the state is %+v, want pending again", st)
	}
	second, _ := api.last()
	if second.ID == first.ID || api.dispatches != 2 {
		t.Fatalf("dispatched %d times, want once more", api.dispatches)
	}
	var sawError bool
	for _, s := range h.gh.statuses["acme/core@c1"] {
		sawError = sawError || s.State == "error" && strings.Contains(s.Description, "retrying once")
	}
	if !sawError {
		t.Error("the first loss was not reported as an error")
	}
	api.set(second.ID, "completed", "cancelled")
	h.expect("error on core", func() bool {
		st := h.gh.lastState("acme/core", "c1")
		return st.State == "error" && strings.Contains(st.Description, "error")
	})
	if api.dispatches != 2 {
		t.Errorf("dispatched %d times, want 2", api.dispatches)
	}
}

// A job that never starts is lost at the deadline, by the fake clock;
// GHES's dispatch without the run is found by its title.
func TestActionsStartDeadline(t *testing.T) {
	api := newFakeActions()
	api.noDetails = true
	h := actionsHarness(t, api)
	h.threeSiblings()
	h.handle(prEvent("opened", prCore, nil))
	h.settle()
	wr, _ := api.last()
	h.advance(30 * time.Second)
	if api.dispatches != 1 {
		t.Fatal("lost before the deadline")
	}
	h.advance(time.Minute)
	if api.dispatches != 2 || len(api.cancelled) != 1 || api.cancelled[0] != wr.ID {
		t.Fatalf("after the deadline: %d dispatches, cancelled %v; want a second dispatch and %d cancelled", api.dispatches, api.cancelled, wr.ID)
	}
}

// A dispatch GitHub refuses is an error with the fix, for each refusal.
func TestActionsRefusedDispatch(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{gherror.NotFound, "add it as .github/workflows/workspace-run.yml"},
		{gherror.Forbidden, "Actions: write permission"},
		{gherror.Rejected, "enable the workflow"},
	} {
		api := newFakeActions()
		api.Error = fmt.Errorf("dispatching: %w", c.err)
		h := actionsHarness(t, api)
		h.threeSiblings()
		h.handle(prEvent("opened", prCore, nil))
		h.expect("an error naming the fix", func() bool {
			runs, _ := h.st.RecentRuns(context.Background(), 1)
			return len(runs) == 1 && runs[0].Ended == lifecycle.Error && strings.Contains(runs[0].Result.Error, c.want)
		})
	}
}

// check refuses results that are not the job's.
func TestRemoteJobCheck(t *testing.T) {
	job := RemoteJob{Changeset: "k", Pins: map[string]ci.Pin{"core": {SHA: "c1"}, "lib": {}}}
	for _, c := range []struct {
		res  *ci.Result
		want string
	}{
		{nil, "no result"},
		{&ci.Result{Result: "green", Changeset: "k"}, "not how a run ends"},
		{&ci.Result{Result: ci.Failure, Changeset: "other"}, "changeset"},
		{&ci.Result{Result: ci.Failure, Changeset: "k", Siblings: []ci.SiblingResult{{Name: "core", SHA: "x"}}}, "pinned c1"},
		{&ci.Result{Result: ci.Success, Changeset: "k"}, "core at c1 is missing"},
		{&ci.Result{Result: ci.Failure, Changeset: "k", Siblings: []ci.SiblingResult{{Name: "core", SHA: "c1"}, {Name: "core", SHA: "c1"}}}, "twice"},
		{&ci.Result{Result: ci.Success, Changeset: "k", Siblings: []ci.SiblingResult{{Name: "core", SHA: "c1"}, {Name: "lib", SHA: "tip"}}}, ""},
	} {
		err := job.check(c.res)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("check(%+v) = %v, want %q", c.res, err, c.want)
		}
	}
}

// A workflow_run event wakes the watcher only for a live dispatch's run:
// the other workflow runs of every installed repository pass by.
func TestWorkflowEventsWakeOnlyForLiveDispatches(t *testing.T) {
	api := newFakeActions()
	h := actionsHarness(t, api)
	h.threeSiblings()
	h.handle(prEvent("opened", prCore, nil))
	h.settle()
	wr, _ := api.last()
	woken := func() bool {
		select {
		case <-h.q.dispatchWake:
			return true
		default:
			return false
		}
	}
	for _, c := range []struct {
		ev   *WorkflowEvent
		want bool
	}{
		{&WorkflowEvent{Event: "workflow_run", Action: "completed", RunID: 999}, false},
		{&WorkflowEvent{Event: "workflow_run", Action: "in_progress", RunID: wr.ID}, false},
		{&WorkflowEvent{Event: "workflow_job", Action: "completed", RunID: wr.ID}, true},
	} {
		h.handle(c.ev)
		if got := woken(); got != c.want {
			t.Errorf("%+v woke the watcher: %v, want %v", c.ev, got, c.want)
		}
	}
}

// A job whose run was cancelled (or superseded) is told to stop: its
// plan and its result are refused with 409, and its workflow run is
// cancelled.
func TestActionsCancelledRunRefusesItsJob(t *testing.T) {
	api := newFakeActions()
	h := actionsHarness(t, api)
	h.threeSiblings()
	h.handle(prEvent("opened", prCore, nil))
	h.settle()
	wr, in := api.last()
	var id int64
	fmt.Sscan(in[InputRun], &id)
	if err := h.q.opt.Executor.Cancel(context.Background(), id, "a test"); err != nil {
		t.Fatal(err)
	}
	if len(api.cancelled) != 1 || api.cancelled[0] != wr.ID {
		t.Errorf("cancelled %v, want %d", api.cancelled, wr.ID)
	}
	var refusal *JobRefusal
	if _, err := h.q.JobPlan(context.Background(), id, in[InputToken], 0); !errors.As(err, &refusal) || refusal.Status != http.StatusConflict {
		t.Errorf("the plan of a cancelled run: %v", err)
	}
	r, _ := h.st.GetRun(context.Background(), id)
	body, _ := json.Marshal(JobResult{Result: &ci.Result{Result: ci.Failure, Changeset: r.Key}})
	if err := h.q.JobResult(context.Background(), id, in[InputToken], body); !errors.As(err, &refusal) || refusal.Status != http.StatusConflict {
		t.Errorf("the result of a cancelled run: %v", err)
	}
}

// [workspace.ci].retry_flaky on runners: a job's failure of known flaky
// tests only is not reported; the run is dispatched again (a new token,
// its job told it is a retry), and the next result is the run's, with
// the retry in its summary. retry_flaky = 1: a second flaky failure is
// the result.
func TestActionsRetryFlaky(t *testing.T) {
	api := newFakeActions()
	text := strings.Replace(testConfig, "test = [\"true\"]\n", "test = [\"true\"]\nretry_flaky = 1\n", 1)
	cfg, _, err := workspace.Parse("wrknv.toml", []byte(text))
	if err != nil || cfg.Workspace.CI.RetryFlaky != 1 {
		t.Fatalf("config: %v", err)
	}
	h := actionsHarness(t, api, func(s *setup) {
		s.Config = func(context.Context) (*ConfigFile, error) {
			return &ConfigFile{Config: cfg, Name: "wrknv.toml", Text: []byte(text)}, nil
		}
	})
	h.threeSiblings()
	ctx := context.Background()
	h.handle(prEvent("opened", prCore, nil))
	h.settle()
	_, in := api.last()
	var id int64
	fmt.Sscan(in[InputRun], &id)
	var firstBody []byte
	post := func(token string) (RemoteJob, error) {
		plan, err := h.q.JobPlan(ctx, id, token, 0)
		if err != nil {
			t.Fatal(err)
		}
		var job RemoteJob
		json.Unmarshal(plan, &job)
		res := failedAt("t::flaky")
		res.Changeset, res.Siblings = job.Changeset, nil
		for name, pin := range job.Pins {
			res.Siblings = append(res.Siblings, ci.SiblingResult{Name: name, SHA: pin.SHA})
		}
		if job.RetriedFlaky == 0 {
			// t::flaky failed, then passed, at these heads: held as flaky.
			for i, failed := range [][]string{{"t::flaky"}, nil} {
				seed, _, err := h.st.EnqueueRun(ctx, store.Run{Key: fmt.Sprintf("seed%d", i), Heads: "h"}, 0)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := h.st.RecordTests(ctx, seed, testHeads(res), []store.Suite{{Name: "test workspace", Failed: failed, Complete: true}}); err != nil {
					t.Fatal(err)
				}
			}
		}
		body, _ := json.Marshal(JobResult{Result: res, Log: "t::flaky failed"})
		if firstBody == nil {
			firstBody = body
		}
		return job, h.q.JobResult(ctx, id, token, body)
	}
	if job, err := post(in[InputToken]); err != nil || job.RetriedFlaky != 0 {
		t.Fatalf("the first result: %v (job retried %d)", err, job.RetriedFlaky)
	}
	h.settle()
	_, again := api.last()
	if again[InputToken] == in[InputToken] || again[InputAttempt] != "2" {
		t.Fatalf("not dispatched again: first %v, last %v", in, again)
	}
	if r, _ := h.st.GetRun(ctx, id); r.State != lifecycle.Building {
		t.Fatalf("after a flaky failure the run is %s, want building", r.State)
	}
	if st := h.gh.lastState("acme/core", "c1"); st.State != "pending" {
		t.Fatalf("a flaky failure was reported: %+v", st)
	}
	var refusal *JobRefusal
	if err := h.q.JobResult(ctx, id, in[InputToken], firstBody); !errors.As(err, &refusal) {
		t.Errorf("the first job's result posted again after the retry: %v", err)
	}
	if job, err := post(again[InputToken]); err != nil || job.RetriedFlaky != 1 {
		t.Fatalf("the second result: %v (job retried %d)", err, job.RetriedFlaky)
	}
	h.expect("failure on core", func() bool { return h.gh.lastState("acme/core", "c1").State == "failure" })
	if _, third := api.last(); third[InputToken] != again[InputToken] {
		t.Error("dispatched a third time, past retry_flaky = 1")
	}
	log, err := h.st.Log(ctx, id)
	if err != nil || !strings.Contains(string(log), "every failing test is known to be flaky: running again (1 of 1") {
		t.Errorf("the run's log does not say why it ran again (%v):\n%s", err, log)
	}
	comments := h.gh.commentsOn("acme/core#1")
	if len(comments) == 0 || !strings.Contains(comments[len(comments)-1].Body, "Run 1 more time: every failing test was known to be flaky") {
		t.Errorf("the summary does not say the run was run again: %+v", comments)
	}
}
