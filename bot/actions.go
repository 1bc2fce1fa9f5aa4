package bot

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/gherror"
	"github.com/provide-io/workspace-bot/internal/logging"
	"github.com/provide-io/workspace-bot/internal/store"
	"github.com/provide-io/workspace-bot/lifecycle"
	"github.com/provide-io/workspace-bot/workspace"
)

// ActionsAPI is what the actions executor calls on GitHub; *gh.Client is
// one.
type ActionsAPI interface {
	// DispatchWorkflow dispatches workflow (a file name or id) of repo at
	// ref with inputs; the run comes back when GitHub says which it is
	// (an ID of 0 when it does not).
	DispatchWorkflow(ctx context.Context, repo, workflow, ref string, inputs map[string]string) (WorkflowRun, error)
	WorkflowRun(ctx context.Context, repo string, id int64) (WorkflowRun, error)
	// FindWorkflowRun finds the workflow_dispatch run of workflow titled
	// title created since since.
	FindWorkflowRun(ctx context.Context, repo, workflow, title string, since time.Time) (WorkflowRun, bool, error)
	CancelWorkflowRun(ctx context.Context, repo string, id int64) error
}

// WorkflowRun is a GitHub Actions workflow run, as the executor reads it.
type WorkflowRun struct {
	ID  int64
	URL string // its page
	// Status is queued, in_progress or completed (and GitHub's other
	// waiting states); Conclusion is set once it completed.
	Status, Conclusion string
	Title              string
}

// Dispatches are the store's records of runs handed to GitHub Actions;
// *store.Store is one.
type Dispatches interface {
	Dispatch(ctx context.Context, id int64, tokenHash string, job []byte) (int, error)
	GetDispatch(ctx context.Context, id int64) (*store.Dispatch, error)
	DispatchOfWorkflowRun(ctx context.Context, workflowRun int64) (*store.Dispatch, error)
	SetWorkflowRun(ctx context.Context, id int64, tokenHash string, workflowRun int64, url string) (bool, error)
	StartDispatch(ctx context.Context, id int64, tokenHash string) (bool, error)
	RecordDispatchResult(ctx context.Context, id int64, tokenHash, digest string) (bool, error)
	EndDispatch(ctx context.Context, id int64, tokenHash, why string) (bool, error)
	RetryDispatch(ctx context.Context, id int64, tokenHash, why string) (bool, error)
	LiveDispatches(ctx context.Context) ([]store.Dispatch, error)
}

// ActionsOptions configure the actions executor.
type ActionsOptions struct {
	GitHub     ActionsAPI
	Dispatches Dispatches
	// Repo is the workspace repository whose workflow runs the builds;
	// "" takes the config's [workspace] repo.
	Repo string
	// Workflow is the workflow's file name in .github/workflows.
	Workflow string
	// Ref is what the workflow is dispatched at; "" takes the config's
	// [workspace] branch, else main.
	Ref string
	// ServiceURL is where the job reaches the service for its plan and
	// to post its result.
	ServiceURL string
	// RunsOn, when set, is passed as the runs-on input: the runner
	// labels (a JSON list, or one label) the job asks for.
	RunsOn string
	// StartDeadline bounds how long a dispatched job may take to start
	// (fetch its plan); past it the run is lost (DefaultStartDeadline).
	StartDeadline time.Duration
	// Check is how often the live dispatches are checked on
	// (DefaultDispatchCheck); workflow_run webhooks check at once.
	Check time.Duration
}

// Defaults of the actions executor.
const (
	DefaultWorkflow      = "workspace-run.yml"
	DefaultStartDeadline = 10 * time.Minute
	DefaultDispatchCheck = time.Minute
	// dispatchAttempts is how many times a run is dispatched before a
	// lost job is its result: a job that died is retried once.
	dispatchAttempts = 2
)

// Actions is the executor that builds each run in a GitHub Actions
// workflow run of the workspace repository: it dispatches the workflow
// with the run's id and a one-time token, and returns; the job fetches
// the plan, builds it, and posts the outcome back (Queue.JobPlan,
// Queue.JobResult), to whichever replica answers.
type Actions struct {
	b   *Bot
	opt ActionsOptions
}

// NewActions checks opts and returns the executor for b.
func NewActions(b *Bot, opts ActionsOptions) (*Actions, error) {
	switch {
	case opts.GitHub == nil || opts.Dispatches == nil:
		return nil, errors.New("bot: the actions executor needs GitHub and Dispatches")
	case opts.ServiceURL == "":
		return nil, errors.New("the actions executor needs the service's URL, which the job posts its result to: set --public-url")
	}
	if opts.Workflow == "" {
		opts.Workflow = DefaultWorkflow
	}
	if opts.StartDeadline <= 0 {
		opts.StartDeadline = DefaultStartDeadline
	}
	if opts.Check <= 0 {
		opts.Check = DefaultDispatchCheck
	}
	return &Actions{b: b, opt: opts}, nil
}

// target is the repository and ref the workflow of cfg's runs is
// dispatched in.
func (a *Actions) target(cfg *workspace.Config) (repo, ref string, err error) {
	repo, ref = a.opt.Repo, a.opt.Ref
	if repo == "" {
		repo = cfg.WorkspaceFullName()
	}
	if repo == "" {
		return "", "", errors.New("the actions executor dispatches a workflow in the workspace repository, and none is known " +
			"(fix: set repo under [workspace] in wrknv.toml, or start serve with --workspace-repo owner/name)")
	}
	if ref == "" {
		ref = cfg.Workspace.Branch
	}
	if ref == "" {
		ref = "main"
	}
	return repo, ref, nil
}

// The inputs a dispatch passes the workflow (examples/workspace-run.yml).
const (
	InputRun     = "run"
	InputAttempt = "attempt"
	InputToken   = "token"
	InputService = "service"
	InputRunsOn  = "runs-on"
)

// RunToken is a new one-time run token and the hash the store keeps.
func RunToken() (token, hash string) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("bot: no randomness for a run token: " + err.Error())
	}
	token = "wbrun_" + hex.EncodeToString(b[:])
	return token, TokenHash(token)
}

// TokenHash is what the store keeps of a run token.
func TokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Title is the display title the workflow gives the workflow run of
// attempt of run id (its run-name), by which a dispatch GitHub did not
// answer with its run is found. The attempt tells a retry's run from the
// lost one's.
func Title(id int64, attempt int) string {
	return fmt.Sprintf("workspace-bot run %d, attempt %d", id, attempt)
}

// Build dispatches the workflow for j's run and returns nil: the run
// stays building until its job posts the outcome. A dispatch GitHub
// refuses is an error outcome that names the fix.
func (a *Actions) Build(ctx context.Context, j Job) *Outcome {
	p := j.Plan
	fail := func(msg string) *Outcome {
		return &Outcome{Result: &ci.Result{Result: ci.Error, Changeset: p.Changeset.Key, Error: msg}}
	}
	if ctx.Err() != nil {
		// Superseded, cancelled or shut down before it was handed off:
		// nothing is dispatched.
		return stopped(ctx, p)
	}
	repo, ref, err := a.target(p.Config.Config)
	if err != nil {
		return fail(err.Error())
	}
	rj := a.b.remoteJob(p)
	rj.Repository = repo
	rj.RetriedFlaky = a.retriedFlaky(ctx, p.Run)
	job, err := json.Marshal(rj)
	if err != nil {
		return fail("encoding the job failed: " + err.Error())
	}
	token, hash := RunToken()
	attempt, err := a.opt.Dispatches.Dispatch(ctx, p.Run, hash, job)
	if err != nil {
		return fail("recording the dispatch failed: " + err.Error())
	}
	inputs := map[string]string{InputRun: strconv.FormatInt(p.Run, 10), InputAttempt: strconv.Itoa(attempt), InputToken: token, InputService: a.opt.ServiceURL}
	if a.opt.RunsOn != "" {
		inputs[InputRunsOn] = a.opt.RunsOn
	}
	wr, err := a.opt.GitHub.DispatchWorkflow(ctx, repo, a.opt.Workflow, ref, inputs)
	if err != nil {
		// The token was never handed out; nothing may use it.
		a.opt.Dispatches.EndDispatch(context.WithoutCancel(ctx), p.Run, hash, "refused")
		return fail(a.refused(err, repo, ref))
	}
	log := a.b.logger(ctx).WithField(logging.Attempts, attempt)
	if wr.ID != 0 {
		if _, err := a.opt.Dispatches.SetWorkflowRun(ctx, p.Run, hash, wr.ID, wr.URL); err != nil {
			log.WithError(err).Warn("recording the workflow run failed; the job says which it is when it starts")
		}
		log = log.WithField(logging.WorkflowRun, wr.ID)
	}
	if j.Log != nil {
		where := wr.URL
		if where == "" {
			where = fmt.Sprintf("%s in %s", a.opt.Workflow, repo)
		}
		fmt.Fprintf(j.Log, "--- dispatched to GitHub Actions (attempt %d): %s\n", attempt, where)
	}
	log.Info("run dispatched to GitHub Actions")
	a.b.setStateAt(ctx, p, lifecycle.Building, "on GitHub Actions", wr.URL)
	return nil
}

// retriedFlaky is how many times run id was built again for flaky
// tests before this dispatch: its last dispatch's count, and one more
// when that one ended for flaky tests.
func (a *Actions) retriedFlaky(ctx context.Context, id int64) int {
	d, err := a.opt.Dispatches.GetDispatch(ctx, id)
	if err != nil {
		return 0
	}
	var prev RemoteJob
	if json.Unmarshal(d.Job, &prev) != nil {
		return 0
	}
	if d.Ended == store.RetryFlaky {
		return prev.RetriedFlaky + 1
	}
	return prev.RetriedFlaky
}

// refused is the error a refused dispatch reports, with its fix.
func (a *Actions) refused(err error, repo, ref string) string {
	wf := a.opt.Workflow
	switch {
	case errors.Is(err, gherror.NotFound):
		return fmt.Sprintf("GitHub Actions: the workflow %s was not found in %s (fix: add it as .github/workflows/%s on %s, from examples/workspace-run.yml, or name yours with --executor-workflow): %v",
			wf, repo, wf, ref, err)
	case errors.Is(err, gherror.Forbidden):
		return fmt.Sprintf("GitHub Actions: the bot may not dispatch workflows in %s (fix: give the GitHub App the Actions: write permission and accept it on the installation, or use a token that may run workflows): %v",
			repo, err)
	case errors.Is(err, gherror.Rejected):
		return fmt.Sprintf("GitHub Actions: GitHub refused to dispatch %s in %s at %s (fix: enable the workflow in the repository's Actions tab, check that %s exists, and that the workflow takes the run, token and service inputs on workflow_dispatch): %v",
			wf, repo, ref, ref, err)
	}
	return fmt.Sprintf("GitHub Actions: dispatching %s in %s failed: %v", wf, repo, err)
}

// Cancel ends run id's live dispatch, so a result it posts is refused,
// and cancels its workflow run.
func (a *Actions) Cancel(ctx context.Context, id int64, why string) error {
	d, err := a.opt.Dispatches.GetDispatch(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !d.Live() {
		return nil
	}
	if ok, err := a.opt.Dispatches.EndDispatch(ctx, id, d.TokenHash, "cancelled"); err != nil || !ok {
		return err
	}
	return a.cancelWorkflow(ctx, id, d)
}

// cancelWorkflow cancels d's workflow run, finding it first when GitHub
// did not say which it is.
func (a *Actions) cancelWorkflow(ctx context.Context, id int64, d *store.Dispatch) error {
	repo, err := repoOf(d)
	if err != nil {
		return err
	}
	wr := d.WorkflowRun
	if wr == 0 {
		found, ok, err := a.opt.GitHub.FindWorkflowRun(ctx, repo, a.opt.Workflow, Title(id, d.Attempt), d.DispatchedAt.Add(-time.Minute))
		if err != nil || !ok {
			// Never found: its job will ask for the plan and be refused.
			return err
		}
		wr = found.ID
	}
	if err := a.opt.GitHub.CancelWorkflowRun(ctx, repo, wr); err != nil && !errors.Is(err, gherror.Rejected) {
		return err
	}
	return nil
}

// repoOf is the repository d's run was dispatched in, as its job
// records it.
func repoOf(d *store.Dispatch) (string, error) {
	var job RemoteJob
	if err := json.Unmarshal(d.Job, &job); err != nil || job.Repository == "" {
		return "", fmt.Errorf("run %d: the stored job does not say which repository it was dispatched in", d.Run)
	}
	return job.Repository, nil
}

// check says whether d's job is lost: it ended without posting a result,
// or never started within the deadline; "" while it may still come.
func (a *Actions) check(ctx context.Context, d *store.Dispatch, now time.Time) (lost string, err error) {
	repo, err := repoOf(d)
	if err != nil {
		return err.Error(), nil
	}
	if d.WorkflowRun == 0 {
		found, ok, err := a.opt.GitHub.FindWorkflowRun(ctx, repo, a.opt.Workflow, Title(d.Run, d.Attempt), d.DispatchedAt.Add(-time.Minute))
		if err != nil {
			return "", err
		}
		if ok {
			a.opt.Dispatches.SetWorkflowRun(ctx, d.Run, d.TokenHash, found.ID, found.URL)
			d.WorkflowRun, d.WorkflowURL = found.ID, found.URL
		}
	}
	if d.WorkflowRun != 0 {
		wr, err := a.opt.GitHub.WorkflowRun(ctx, repo, d.WorkflowRun)
		if err != nil {
			return "", err
		}
		if wr.Status == "completed" {
			// A job posts its result before it ends; one that ended
			// without it died, or was cancelled on GitHub.
			if wr.Conclusion == "cancelled" {
				return fmt.Sprintf("its GitHub Actions workflow run was cancelled on GitHub before it posted a result (%s)", wr.URL), nil
			}
			return fmt.Sprintf("its GitHub Actions job ended (%s) without posting a result: the runner died or the job failed before the build (%s)", wr.Conclusion, wr.URL), nil
		}
	}
	if d.StartedAt.IsZero() && now.Sub(d.DispatchedAt) > a.opt.StartDeadline {
		return fmt.Sprintf("its GitHub Actions job did not start within %s (are runners with the workflow's labels online? is the workflow's concurrency holding it?)", a.opt.StartDeadline), nil
	}
	return "", nil
}
